// Compose: a line, a message type from the catalog, a precedence, the type's fields as a
// form generated from its JSON Schema (form.tsx) and free text. Invalid fields are marked
// before anything is sent; what the gateway still refuses is shown with its reason.
import { useEffect, useState } from "preact/hooks";
import * as api from "./api";
import type { CatalogType, Line, Precedence } from "./api";
import { SchemaForm, prune, validate, type Errors } from "./form";
import { t, type Lang } from "./i18n";

// Types with endpoints and views of their own (acks, meetings, translations, evidence).
function composable(type: CatalogType): boolean {
  return !/^(ack|stage\.|translation|meeting\.|evidence\.)/.test(type.type);
}

export function Compose(props: { lang: Lang; onSent: () => void; onEnded: () => void }) {
  const { lang } = props;
  const [lines, setLines] = useState<Line[]>([]);
  const [types, setTypes] = useState<CatalogType[]>([]);
  const [line, setLine] = useState("");
  const [typeName, setTypeName] = useState("");
  const [precedence, setPrecedence] = useState<Precedence>("ROUTINE");
  const [body, setBody] = useState<Record<string, unknown>>({});
  const [text, setText] = useState("");
  const [errors, setErrors] = useState<Errors>({});
  const [summary, setSummary] = useState("");
  const [refusal, setRefusal] = useState("");
  const [sent, setSent] = useState("");
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    Promise.all([api.lines(), api.catalog()])
      .then(([l, c]) => {
        setLines(l);
        setLine(l[0]?.id ?? "");
        const shown = c.filter(composable);
        setTypes(shown);
        setTypeName(shown.find((x) => x.type === "text")?.type ?? shown[0]?.type ?? "");
      })
      .catch((e) => {
        if (e instanceof api.ApiError && e.status === 401) return props.onEnded();
        setRefusal(e instanceof Error ? e.message : String(e));
      });
  }, []);

  const type = types.find((x) => x.type === typeName);

  const submit = async (e: Event) => {
    e.preventDefault();
    setRefusal("");
    setSent("");
    if (!type) return;
    const pruned = prune(body) as Record<string, unknown>;
    const found = validate(type, pruned, lang);
    setErrors(found);
    if (Object.keys(found).length > 0) {
      setSummary(t(lang, "fixErrors"));
      return;
    }
    setSummary("");
    setBusy(true);
    try {
      const answer = await api.send({ line, precedence, type: type.type, body: pruned, text: text || undefined });
      setSent(answer.id);
      setBody({});
      setText("");
      props.onSent();
    } catch (err) {
      if (err instanceof api.ApiError && err.status === 401) return props.onEnded();
      setRefusal(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="compose" onSubmit={submit} aria-label={t(lang, "compose")} noValidate>
      <div class="field">
        <label for="compose-line">{t(lang, "line")}</label>
        <select id="compose-line" value={line} onChange={(e) => setLine((e.currentTarget as HTMLSelectElement).value)}>
          {lines.map((l) => (
            <option value={l.id}>
              {l.id} ({l.local} → {l.remote})
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="compose-type">{t(lang, "type")}</label>
        <select
          id="compose-type"
          value={typeName}
          onChange={(e) => {
            setTypeName((e.currentTarget as HTMLSelectElement).value);
            setBody({});
            setErrors({});
            setSummary("");
          }}
        >
          {types.map((x) => (
            <option value={x.type}>
              {x.title?.[lang] ?? x.title?.en ?? x.type} ({x.type})
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="compose-precedence">{t(lang, "precedence")}</label>
        <select
          id="compose-precedence"
          value={precedence}
          onChange={(e) => setPrecedence((e.currentTarget as HTMLSelectElement).value as Precedence)}
        >
          {api.precedences.map((p) => (
            <option value={p}>{p}</option>
          ))}
        </select>
      </div>
      {type && Object.keys(type.schema.properties ?? {}).length > 0 ? (
        <fieldset class="body">
          <legend>{t(lang, "body")}</legend>
          <SchemaForm type={type} value={body} errors={errors} lang={lang} onChange={setBody} />
        </fieldset>
      ) : null}
      <div class="field">
        <label for="compose-text">{t(lang, "freeText")}</label>
        <textarea id="compose-text" rows={3} value={text} onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)} />
      </div>
      {summary ? (
        <p class="error form-summary" role="alert">
          {summary}
        </p>
      ) : null}
      {refusal ? (
        <p class="error server-refusal" role="alert">
          {t(lang, "refused")}: {refusal}
        </p>
      ) : null}
      {sent ? (
        <p class="sent" role="status" data-sent-id={sent}>
          {t(lang, "sent")}: {sent}
        </p>
      ) : null}
      <button type="submit" disabled={busy || !type || !line}>
        {t(lang, "send")}
      </button>
    </form>
  );
}
