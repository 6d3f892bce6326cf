// A form generated from a catalog type's JSON Schema (draft 7), with inline errors from
// @cfworker/json-schema: a validator that interprets the schema instead of compiling it to
// code, so it runs under the console's Content-Security-Policy (no eval; ajv compiles with
// new Function and would need 'unsafe-eval'). The gateway validates again and has the last
// word (its 400 reason is shown by the compose view).
import { Validator, type OutputUnit } from "@cfworker/json-schema";
import type { CatalogType, JsonSchema } from "./api";
import { t, type Key, type Lang } from "./i18n";

export type Value = unknown;
export type Errors = Record<string, string>; // by field path ("a.b.0.c"; "" for the body)

function kind(schema: JsonSchema): string {
  if (Array.isArray(schema.enum)) return "enum";
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  return type ?? "string";
}

// Leaves empty strings, empty arrays and objects with nothing in them out, so that an
// optional field left blank is absent rather than invalid.
export function prune(value: Value): Value {
  if (Array.isArray(value)) return value.map(prune);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const p = prune(v);
      if (p === undefined || p === "") continue;
      if (p !== null && typeof p === "object" && !Array.isArray(p) && Object.keys(p).length === 0) {
        continue;
      }
      out[k] = p;
    }
    return out;
  }
  return value;
}

function pathOf(pointer: string): string {
  return pointer
    .replace(/^#\/?/, "")
    .split("/")
    .filter((s) => s !== "")
    .map((s) => decodeURIComponent(s).replace(/~1/g, "/").replace(/~0/g, "~"))
    .join(".");
}

const localized: Record<string, Key> = {
  required: "err_required",
  type: "err_type",
  minimum: "err_minimum",
  maximum: "err_maximum",
  exclusiveMinimum: "err_minimum",
  exclusiveMaximum: "err_maximum",
  minLength: "err_minLength",
  maxLength: "err_maxLength",
  pattern: "err_pattern",
  format: "err_format",
  enum: "err_enum",
  minItems: "err_minItems",
  maxItems: "err_maxItems",
};

// The errors of `body` against the type's schema, by field path, in `lang`.
export function validate(type: CatalogType, body: Value, lang: Lang): Errors {
  const result = new Validator(type.schema as never, "7", false).validate(body);
  const errors: Errors = {};
  for (const unit of result.errors as OutputUnit[]) {
    // The schema's structure reports each failure again at every enclosing level.
    if (["properties", "items", "allOf", "anyOf", "oneOf", "$ref", "then", "if"].includes(unit.keyword)) {
      continue;
    }
    let path = pathOf(unit.instanceLocation);
    if (unit.keyword === "required") {
      const missing = /"([^"]+)"/.exec(unit.error);
      if (missing) path = path ? `${path}.${missing[1]}` : missing[1];
    }
    if (errors[path] !== undefined) continue;
    const key = localized[unit.keyword];
    errors[path] = key ? `${t(lang, key)} (${unit.error})` : unit.error;
  }
  return errors;
}

interface FieldProps {
  type: CatalogType;
  schema: JsonSchema;
  path: string; // "a.b"
  name: string;
  required: boolean;
  value: Value;
  errors: Errors;
  lang: Lang;
  onChange: (value: Value) => void;
}

function label(type: CatalogType, path: string, name: string, lang: Lang): string {
  const labelPath = path.replace(/\.\d+(?=\.|$)/g, "");
  return type.labels?.[lang]?.[labelPath] ?? type.labels?.en?.[labelPath] ?? name;
}

function fieldId(path: string): string {
  return `field-${path.replace(/[^A-Za-z0-9_-]/g, "-")}`;
}

function ErrorText({ id, error }: { id: string; error: string | undefined }) {
  return error === undefined ? null : (
    <p class="field-error" id={`${id}-error`} role="alert">
      {error}
    </p>
  );
}

function Field(props: FieldProps) {
  const { type, schema, path, name, required, value, errors, lang, onChange } = props;
  const id = fieldId(path);
  const error = errors[path];
  const text = label(type, path, name, lang);
  const describedBy = [error !== undefined ? `${id}-error` : "", schema.description ? `${id}-help` : ""]
    .filter(Boolean)
    .join(" ");
  const common = {
    id,
    name: path,
    "aria-invalid": error !== undefined ? ("true" as const) : undefined,
    "aria-describedby": describedBy || undefined,
    "aria-required": required ? ("true" as const) : undefined,
  };
  const labelled = (control: preact.ComponentChildren) => (
    <div class={`field${error !== undefined ? " invalid" : ""}`}>
      <label for={id}>
        {text}
        {required ? <span class="required"> ({t(lang, "required")})</span> : null}
      </label>
      {control}
      {schema.description ? (
        <p class="help" id={`${id}-help`}>
          {schema.description}
        </p>
      ) : null}
      <ErrorText id={id} error={error} />
    </div>
  );

  switch (kind(schema)) {
    case "enum": {
      const words = type.values?.[lang]?.[path.replace(/\.\d+(?=\.|$)/g, "")] ?? {};
      return labelled(
        <select
          {...common}
          value={value === undefined ? "" : String(value)}
          onChange={(e) => {
            const v = (e.currentTarget as HTMLSelectElement).value;
            onChange(v === "" ? undefined : schema.enum?.find((x) => String(x) === v));
          }}
        >
          <option value="">{t(lang, "none")}</option>
          {(schema.enum ?? []).map((option) => (
            <option value={String(option)}>{words[String(option)] ?? String(option)}</option>
          ))}
        </select>,
      );
    }
    case "boolean":
      return (
        <div class={`field checkbox${error !== undefined ? " invalid" : ""}`}>
          <input
            type="checkbox"
            {...common}
            checked={value === true}
            onChange={(e) => onChange((e.currentTarget as HTMLInputElement).checked)}
          />
          <label for={id}>{text}</label>
          <ErrorText id={id} error={error} />
        </div>
      );
    case "integer":
    case "number":
      return labelled(
        <input
          type="text"
          inputMode="decimal"
          {...common}
          value={value === undefined ? "" : String(value)}
          onInput={(e) => {
            const raw = (e.currentTarget as HTMLInputElement).value.trim();
            // Kept as text when it is not a number, so that the validator names the field.
            const n = Number(raw);
            onChange(raw === "" ? undefined : Number.isFinite(n) ? n : raw);
          }}
        />,
      );
    case "object":
      return (
        <fieldset class={error !== undefined ? "invalid" : ""} id={id}>
          <legend>{text}</legend>
          <ObjectFields {...props} value={(value as Record<string, unknown>) ?? {}} />
          <ErrorText id={id} error={error} />
        </fieldset>
      );
    case "array": {
      const items = Array.isArray(value) ? value : [];
      const itemSchema = schema.items ?? { type: "string" };
      return (
        <fieldset class={error !== undefined ? "invalid" : ""} id={id}>
          <legend>{text}</legend>
          {items.map((item, i) => (
            <div class="array-item">
              <Field
                {...props}
                schema={itemSchema}
                path={`${path}.${i}`}
                name={`${text} ${i + 1}`}
                required={true}
                value={item}
                onChange={(v) => onChange(items.map((x, j) => (j === i ? v : x)))}
              />
              <button
                type="button"
                aria-label={`${t(lang, "removeItem")}: ${text} ${i + 1}`}
                onClick={() => onChange(items.filter((_, j) => j !== i))}
              >
                {t(lang, "removeItem")}
              </button>
            </div>
          ))}
          <button
            type="button"
            aria-label={`${t(lang, "addItem")}: ${text}`}
            onClick={() => onChange([...items, kind(itemSchema) === "object" ? {} : undefined])}
          >
            {t(lang, "addItem")}
          </button>
          <ErrorText id={id} error={error} />
        </fieldset>
      );
    }
    default: {
      const long = (schema.maxLength ?? 0) > 256;
      const placeholder = schema.format === "date-time" ? "2026-11-24T21:00:00Z" : undefined;
      const onInput = (e: Event) => {
        const v = (e.currentTarget as HTMLInputElement | HTMLTextAreaElement).value;
        onChange(v === "" ? undefined : v);
      };
      return labelled(
        long ? (
          <textarea {...common} rows={2} value={(value as string) ?? ""} onInput={onInput} />
        ) : (
          <input type="text" {...common} placeholder={placeholder} value={(value as string) ?? ""} onInput={onInput} />
        ),
      );
    }
  }
}

function ObjectFields(props: FieldProps) {
  const { schema, path } = props;
  const value = (props.value as Record<string, unknown>) ?? {};
  const required = schema.required ?? [];
  return (
    <>
      {Object.entries(schema.properties ?? {}).map(([name, sub]) => (
        <Field
          {...props}
          schema={sub}
          path={path ? `${path}.${name}` : name}
          name={name}
          required={required.includes(name)}
          value={value[name]}
          onChange={(v) => props.onChange({ ...value, [name]: v })}
        />
      ))}
    </>
  );
}

// The fields of a message body of `type`.
export function SchemaForm(props: {
  type: CatalogType;
  value: Record<string, unknown>;
  errors: Errors;
  lang: Lang;
  onChange: (value: Record<string, unknown>) => void;
}) {
  return (
    <ObjectFields
      type={props.type}
      schema={props.type.schema}
      path=""
      name=""
      required={true}
      value={props.value}
      errors={props.errors}
      lang={props.lang}
      onChange={(v) => props.onChange(v as Record<string, unknown>)}
    />
  );
}
