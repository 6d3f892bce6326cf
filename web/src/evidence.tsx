// The evidence of one message: its signed envelope, the countersigned head of its sender's
// log and the inclusion proof that puts the envelope in that head, with the parties' pinned
// keys. "Verify here" checks all of it in this browser (verify.ts), not trusting the gateway.
import { useEffect, useState } from "preact/hooks";
import * as api from "./api";
import { t, tDynamic, type Lang } from "./i18n";
import { Time } from "./ui";
import { fromBase64, verifyEvidence, type Check, type Dsse, type Evidence } from "./verify";

// A DSSE payload shown as its JSON text (pretty), or the reason it cannot be read.
function decoded(doc: Dsse | null): Record<string, unknown> | null {
  if (!doc) return null;
  try {
    return JSON.parse(new TextDecoder().decode(fromBase64(doc.payload))) as Record<string, unknown>;
  } catch {
    return null;
  }
}

function sthOf(receipt: Record<string, unknown> | null): Record<string, unknown> | null {
  if (!receipt || typeof receipt.sth !== "string") return null;
  try {
    return JSON.parse(new TextDecoder().decode(fromBase64(receipt.sth))) as Record<string, unknown>;
  } catch {
    return null;
  }
}

function Fields({ value, label }: { value: Record<string, unknown> | null; label: string }) {
  if (!value) return <p class="muted">—</p>;
  return (
    <dl class="fields" title={label}>
      {Object.entries(value).map(([k, v]) => (
        <>
          <dt>{k}</dt>
          <dd class="mono">{typeof v === "string" ? v : JSON.stringify(v)}</dd>
        </>
      ))}
    </dl>
  );
}

// The signing keys of the bundles pasted by the officer (a bundle's JSON, several as a JSON
// array or one a line): party -> sign_key. An error names what is not a bundle.
export function keysOfBundles(text: string): Record<string, string> {
  const keys: Record<string, string> = {};
  const trimmed = text.trim();
  if (!trimmed) return keys;
  let bundles: unknown[];
  try {
    const parsed: unknown = JSON.parse(trimmed);
    bundles = Array.isArray(parsed) ? parsed : [parsed];
  } catch {
    bundles = trimmed.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as unknown);
  }
  for (const b of bundles) {
    const bundle = b as { party?: unknown; sign_key?: unknown };
    if (typeof bundle?.party !== "string" || typeof bundle.sign_key !== "string") throw new Error("not a bundle (party, sign_key)");
    keys[bundle.party] = bundle.sign_key;
  }
  return keys;
}

export function EvidenceView(props: { id: string; lang: Lang; onBack: () => void; onEnded: () => void }) {
  const { id, lang } = props;
  const [evidence, setEvidence] = useState<Evidence | null>(null);
  const [error, setError] = useState("");
  const [checks, setChecks] = useState<Check[] | null>(null);
  const [bundles, setBundles] = useState("");
  const [bundleError, setBundleError] = useState("");
  const [runs, setRuns] = useState(0); // how many times it was verified (each run is shown anew)
  // With bundles pasted, their keys replace the gateway's: a check that owes it nothing.
  const verify = () => {
    if (!evidence) return;
    setBundleError("");
    setRuns((n) => n + 1);
    try {
      const own = keysOfBundles(bundles);
      // The bundles name one key per party: the head is then checked with it too.
      const pasted = Object.keys(own).length > 0;
      setChecks(verifyEvidence({ ...evidence, keys: { ...evidence.keys, ...own }, head_key: pasted ? null : evidence.head_key }));
    } catch (e) {
      setChecks(null);
      setBundleError(e instanceof Error ? e.message : String(e));
    }
  };

  useEffect(() => {
    setEvidence(null);
    setChecks(null);
    api
      .evidence(id)
      .then(setEvidence)
      .catch((e) => {
        if (e instanceof api.ApiError && e.status === 401) return props.onEnded();
        setError(e instanceof Error ? e.message : String(e));
      });
  }, [id]);

  if (error) {
    return (
      <p class="error" role="alert">
        {error}
      </p>
    );
  }
  if (!evidence) return <p>{t(lang, "loading")}</p>;
  const envelope = decoded(evidence.envelope);
  const receipt = decoded(evidence.countersignature);
  const sth = sthOf(receipt);
  const passed = checks !== null && checks.every((c) => c.ok);
  return (
    <article class="evidence" aria-labelledby="evidence-title" data-evidence={evidence.id}>
      <h2 id="evidence-title">
        {t(lang, "evidenceOf")} <span class="mono">{evidence.id}</span>
      </h2>
      <button type="button" onClick={props.onBack}>
        {t(lang, "back")}
      </button>
      <p>
        {t(lang, "logOf")} <strong>{evidence.log.owner}</strong> ({t(lang, "countersignedBy")} {evidence.log.peer})
      </p>
      <section aria-labelledby="ev-envelope">
        <h3 id="ev-envelope">{t(lang, "envelope")}</h3>
        <p>
          {t(lang, "signedBy")} {evidence.envelope.key}; {t(lang, "signature")} <span class="mono wrap">{evidence.envelope.sig}</span>
        </p>
        <Fields value={envelope} label={t(lang, "envelope")} />
      </section>
      <section aria-labelledby="ev-head">
        <h3 id="ev-head">{t(lang, "countersignedHead")}</h3>
        {receipt ? (
          <>
            <p>
              {t(lang, "countersignedBy")} {evidence.countersignature?.key}, <Time iso={String(receipt.received)} lang={lang} />
            </p>
            <Fields value={sth} label={t(lang, "signedTreeHead")} />
          </>
        ) : (
          <p>{t(lang, "noCountersignature")}</p>
        )}
      </section>
      <section aria-labelledby="ev-proof">
        <h3 id="ev-proof">{t(lang, "inclusionProof")}</h3>
        {evidence.proof ? (
          <>
            <p>
              {t(lang, "leaf")} {evidence.proof.index} / {evidence.proof.size}; {t(lang, "root")}{" "}
              <span class="mono wrap">{evidence.proof.root}</span>
            </p>
            <ol class="mono wrap" aria-label={t(lang, "auditPath")}>
              {evidence.proof.path.map((h) => (
                <li>{h}</li>
              ))}
            </ol>
          </>
        ) : (
          <p>{t(lang, "noProof")}</p>
        )}
      </section>
      <section aria-labelledby="ev-keys">
        <h3 id="ev-keys">{t(lang, "pinnedKeys")}</h3>
        <p class="help">{t(lang, "keysHelp")}</p>
        <dl class="fields">
          {Object.entries(evidence.keys).map(([party, key]) => (
            <>
              <dt>{party}</dt>
              <dd class="mono">{key}</dd>
            </>
          ))}
        </dl>
      </section>
      <div class="field">
        <label for="evidence-bundles">{t(lang, "bundlesToVerifyWith")}</label>
        <textarea id="evidence-bundles" rows={3} class="mono" aria-describedby="evidence-bundles-help" value={bundles} onInput={(e) => setBundles((e.currentTarget as HTMLTextAreaElement).value)} />
        <p class="help" id="evidence-bundles-help">
          {t(lang, "bundlesHelp")}
        </p>
        {bundleError ? (
          <p class="error" role="alert">
            {bundleError}
          </p>
        ) : null}
      </div>
      <button type="button" class="verify" onClick={verify}>
        {t(lang, "verifyHere")}
      </button>
      {checks ? (
        <section class={`verdict ${passed ? "pass" : "fail"}`} role="status" aria-live="polite" data-verdict={passed ? "pass" : "fail"} data-run={runs}>
          <h3>{t(lang, passed ? "verifiedHere" : "notVerified")}</h3>
          <ul>
            {checks.map((c) => (
              <li data-check={c.name} data-ok={c.ok ? "true" : "false"}>
                <strong>
                  {c.ok ? "✔" : "✘"} {tDynamic(lang, `check_${c.name}`)}
                </strong>
                : <span class="mono wrap">{c.detail}</span>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </article>
  );
}
