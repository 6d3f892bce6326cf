// Meetings (docs/protocol.md "Meetings"): proposals with their slots and agenda, accepting a
// slot, the minutes, signing them, and the action items with their due dates. Before signing,
// the page computes the minutes hash itself from the minutes it shows (SHA-256 of their
// canonical JSON) and signs only that hash, and only if the gateway names the same one: the
// officer signs what the screen shows.
import { sha256 } from "@noble/hashes/sha2";
import { useEffect, useRef, useState } from "preact/hooks";
import * as api from "./api";
import type { Line, Meeting } from "./api";
import { t, tDynamic, type Lang } from "./i18n";
import { Time } from "./ui";
import { toHex } from "./verify";

// Canonical JSON as the minutes hash needs it: keys sorted, no whitespace, only the escapes
// JSON requires (JSON.stringify's strings).
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

export function minutesHash(body: unknown): string {
  return toHex(sha256(new TextEncoder().encode(canonical(body))));
}

const utcPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z$/;

// "2026-12-10T09:00Z" or with seconds: a UTC time the API takes ("...:SSZ"), or null.
function asUtc(text: string): string | null {
  const v = text.trim();
  if (!utcPattern.test(v) || Number.isNaN(new Date(v).getTime())) return null;
  return new Date(v).toISOString().replace(".000Z", "Z");
}

const lines = (text: string) =>
  text
    .split("\n")
    .map((s) => s.trim())
    .filter((s) => s !== "");

interface Props {
  lang: Lang;
  party: string;
  events: number; // counts the live feed's events: each may be a meeting step
  onEnded: () => void;
}

function useAction(props: Props, reload: () => Promise<void>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [done, setDone] = useState("");
  const run = async (what: () => Promise<unknown>, message: string) => {
    setBusy(true);
    setError("");
    setDone("");
    try {
      await what();
      setDone(message);
      await reload();
    } catch (e) {
      if (e instanceof api.ApiError && e.status === 401) return props.onEnded();
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, done, run, setError };
}

function Propose(props: { lang: Lang; lines: Line[]; run: ReturnType<typeof useAction>["run"]; busy: boolean; setError: (s: string) => void }) {
  const { lang } = props;
  const [line, setLine] = useState("");
  const [title, setTitle] = useState("");
  const [slots, setSlots] = useState("");
  const [agenda, setAgenda] = useState("");
  const submit = (e: Event) => {
    e.preventDefault();
    const times = lines(slots).map(asUtc);
    if (!title.trim()) return props.setError(`${t(lang, "meetingTitle")}: ${t(lang, "err_required")}`);
    if (times.length === 0 || times.some((x) => x === null)) return props.setError(`${t(lang, "slots")}: ${t(lang, "utcExpected")}`);
    void props.run(
      () =>
        api.proposeMeeting({
          line: line || props.lines[0]?.id || "",
          title: title.trim(),
          slots: times as string[],
          agenda: lines(agenda),
        }),
      t(lang, "proposed"),
    );
  };
  return (
    <form class="compose" onSubmit={submit} aria-labelledby="propose-title" noValidate>
      <h2 id="propose-title">{t(lang, "proposeMeeting")}</h2>
      <div class="field">
        <label for="meeting-line">{t(lang, "line")}</label>
        <select id="meeting-line" value={line || props.lines[0]?.id} onChange={(e) => setLine((e.currentTarget as HTMLSelectElement).value)}>
          {props.lines.map((l) => (
            <option value={l.id}>
              {l.id} ({l.local} → {l.remote})
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="meeting-title">{t(lang, "meetingTitle")}</label>
        <input id="meeting-title" value={title} onInput={(e) => setTitle((e.currentTarget as HTMLInputElement).value)} />
      </div>
      <div class="field">
        <label for="meeting-slots">{t(lang, "slots")}</label>
        <textarea id="meeting-slots" rows={2} aria-describedby="meeting-slots-help" value={slots} onInput={(e) => setSlots((e.currentTarget as HTMLTextAreaElement).value)} />
        <p class="help" id="meeting-slots-help">
          {t(lang, "slotsHelp")}
        </p>
      </div>
      <div class="field">
        <label for="meeting-agenda">{t(lang, "agenda")}</label>
        <textarea id="meeting-agenda" rows={3} aria-describedby="meeting-agenda-help" value={agenda} onInput={(e) => setAgenda((e.currentTarget as HTMLTextAreaElement).value)} />
        <p class="help" id="meeting-agenda-help">
          {t(lang, "onePerLine")}
        </p>
      </div>
      <button type="submit" disabled={props.busy || props.lines.length === 0}>
        {t(lang, "propose")}
      </button>
    </form>
  );
}

// The minutes of a scheduled or held meeting: when, who, notes per agenda item, and an
// optional action item (its owner and due date) under the first item.
function MinutesForm(props: { m: Meeting; lang: Lang; run: ReturnType<typeof useAction>["run"]; busy: boolean; setError: (s: string) => void }) {
  const { m, lang } = props;
  const prefix = `minutes-${m.id}`;
  const agenda = m.agenda.length > 0 ? m.agenda : [m.title];
  const [heldAt, setHeldAt] = useState("");
  const [attendees, setAttendees] = useState("");
  const [notes, setNotes] = useState<string[]>(agenda.map(() => ""));
  const [action, setAction] = useState({ text: "", owner: "", due: "" });
  const submit = (e: Event) => {
    e.preventDefault();
    const held = heldAt.trim() ? asUtc(heldAt) : undefined;
    if (held === null) return props.setError(`${t(lang, "heldAt")}: ${t(lang, "utcExpected")}`);
    const due = action.text.trim() ? asUtc(action.due) : undefined;
    if (due === null || (action.text.trim() && !action.owner.trim())) {
      return props.setError(`${t(lang, "actionItem")}: ${t(lang, "actionNeeds")}`);
    }
    const items = agenda.map((item, i) => {
      const entry: Record<string, unknown> = { agenda_item: item };
      if (notes[i]?.trim()) entry.notes = notes[i].trim();
      if (i === 0 && due) entry.actions = [{ id: "a1", text: action.text.trim(), owner: action.owner.trim(), due }];
      return entry;
    });
    const body: Record<string, unknown> = { items };
    if (held) body.held_at = held;
    if (lines(attendees).length > 0) body.attendees = lines(attendees);
    void props.run(() => api.meetingStep(m.id, "minutes", body), t(lang, "minutesRecorded"));
  };
  return (
    <form class="compose minutes-form" onSubmit={submit} aria-label={`${t(lang, "writeMinutes")}: ${m.title}`} noValidate>
      <h4>{t(lang, "writeMinutes")}</h4>
      <div class="field">
        <label for={`${prefix}-held`}>{t(lang, "heldAt")}</label>
        <input id={`${prefix}-held`} value={heldAt} placeholder="2026-12-10T09:00Z" onInput={(e) => setHeldAt((e.currentTarget as HTMLInputElement).value)} />
      </div>
      <div class="field">
        <label for={`${prefix}-attendees`}>{t(lang, "attendees")}</label>
        <textarea id={`${prefix}-attendees`} rows={2} value={attendees} onInput={(e) => setAttendees((e.currentTarget as HTMLTextAreaElement).value)} />
      </div>
      {agenda.map((item, i) => (
        <div class="field">
          <label for={`${prefix}-notes-${i}`}>
            {t(lang, "notesOn")} “{item}”
          </label>
          <textarea
            id={`${prefix}-notes-${i}`}
            rows={2}
            value={notes[i]}
            onInput={(e) => {
              const next = [...notes];
              next[i] = (e.currentTarget as HTMLTextAreaElement).value;
              setNotes(next);
            }}
          />
        </div>
      ))}
      <fieldset>
        <legend>{t(lang, "actionItem")}</legend>
        <div class="field">
          <label for={`${prefix}-action`}>{t(lang, "actionText")}</label>
          <input id={`${prefix}-action`} value={action.text} onInput={(e) => setAction({ ...action, text: (e.currentTarget as HTMLInputElement).value })} />
        </div>
        <div class="field">
          <label for={`${prefix}-owner`}>{t(lang, "owner")}</label>
          <input id={`${prefix}-owner`} value={action.owner} onInput={(e) => setAction({ ...action, owner: (e.currentTarget as HTMLInputElement).value })} />
        </div>
        <div class="field">
          <label for={`${prefix}-due`}>{t(lang, "due")}</label>
          <input id={`${prefix}-due`} value={action.due} placeholder="2026-12-20T00:00Z" onInput={(e) => setAction({ ...action, due: (e.currentTarget as HTMLInputElement).value })} />
        </div>
      </fieldset>
      <button type="submit" disabled={props.busy}>
        {t(lang, "recordMinutes")}
      </button>
    </form>
  );
}

function MeetingItem(props: { m: Meeting; lang: Lang; party: string; action: ReturnType<typeof useAction> }) {
  const { m, lang, party, action } = props;
  const offerIsMine = m.offered?.by === party;
  const computed = m.minutes.body ? minutesHash(m.minutes.body) : null;
  const hashMatches = computed !== null && computed === m.minutes.hash;
  const iSigned = m.minutes.signed_by.includes(party);
  const sign = () => {
    if (!computed || !hashMatches) return action.setError(t(lang, "hashMismatch"));
    void action.run(() => api.meetingStep(m.id, "sign", { minutes_hash: computed }), t(lang, "minutesSigned"));
  };
  return (
    <li class="meeting" data-meeting-id={m.id} data-meeting-state={m.state}>
      <h3>
        {m.title} <span class={`chip meeting-${m.state}`}>{tDynamic(lang, `meeting_${m.state}`)}</span>
      </h3>
      <p>
        {t(lang, "line")} {m.line}; {t(lang, "proposedBy")} {m.proposer ?? "?"}
      </p>
      {m.agenda.length > 0 ? (
        <>
          <h4>{t(lang, "agenda")}</h4>
          <ol>
            {m.agenda.map((a) => (
              <li>{a}</li>
            ))}
          </ol>
        </>
      ) : null}
      {m.slot ? (
        <p>
          {t(lang, "slot")}: <Time iso={m.slot} lang={lang} />
        </p>
      ) : null}
      {m.offered && m.offered.slots.length > 0 && (m.state === "proposed" || m.state === "countered") ? (
        <div>
          <h4>
            {t(lang, "slotsOffered")} ({t(lang, "by")} {m.offered.by})
          </h4>
          <ul>
            {m.offered.slots.map((s) => (
              <li>
                <Time iso={s} lang={lang} />{" "}
                {offerIsMine ? null : (
                  <button
                    type="button"
                    class="accept"
                    disabled={action.busy}
                    aria-label={`${t(lang, "acceptSlot")} ${s}: ${m.title}`}
                    onClick={() => void action.run(() => api.meetingStep(m.id, "accept", { slot: s }), t(lang, "accepted"))}
                  >
                    {t(lang, "acceptSlot")}
                  </button>
                )}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      {m.minutes.hash ? (
        <section class="minutes" aria-label={`${t(lang, "minutes")}: ${m.title}`}>
          <h4>{t(lang, "minutes")}</h4>
          <p>
            {t(lang, "minutesHash")}: <span class="mono wrap" data-minutes-hash="">{m.minutes.hash}</span>
          </p>
          <p data-hash-check={hashMatches ? "match" : "mismatch"}>
            {hashMatches ? t(lang, "hashComputedHere") : t(lang, "hashMismatch")}
          </p>
          <p>
            {t(lang, "signedByParties")}: <span data-signed-by="">{m.minutes.signed_by.join(", ") || t(lang, "none")}</span>
            {m.minutes.final ? (
              <strong class="final" data-final="">
                {" "}
                — {t(lang, "final")}
              </strong>
            ) : null}
          </p>
          {m.minutes.body ? <MinutesBody body={m.minutes.body} lang={lang} /> : null}
          {iSigned ? null : (
            <button type="button" class="sign" disabled={action.busy || !hashMatches} onClick={sign} aria-label={`${t(lang, "signMinutes")}: ${m.title}`}>
              {t(lang, "signMinutes")}
            </button>
          )}
        </section>
      ) : null}
      {m.actions.length > 0 ? (
        <section aria-label={`${t(lang, "actionItems")}: ${m.title}`}>
          <h4>{t(lang, "actionItems")}</h4>
          <table class="grid">
            <thead>
              <tr>
                <th scope="col">{t(lang, "actionText")}</th>
                <th scope="col">{t(lang, "owner")}</th>
                <th scope="col">{t(lang, "due")}</th>
                <th scope="col">{t(lang, "state")}</th>
              </tr>
            </thead>
            <tbody>
              {m.actions.map((a) => (
                <tr data-action={a.id} data-action-status={a.status}>
                  <td>{a.text ?? a.id}</td>
                  <td>{a.owner}</td>
                  <td>
                    <Time iso={a.due} lang={lang} />
                  </td>
                  <td>
                    <span class={`chip action-${a.status}`}>{tDynamic(lang, `action_${a.status}`)}</span>{" "}
                    {a.done ? null : (
                      <button
                        type="button"
                        disabled={action.busy}
                        aria-label={`${t(lang, "markDone")}: ${a.text ?? a.id}`}
                        onClick={() => void action.run(() => api.actionDone(m.id, a.id), t(lang, "markedDone"))}
                      >
                        {t(lang, "markDone")}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
      {m.state === "scheduled" || m.state === "held" ? (
        <MinutesForm m={m} lang={lang} run={action.run} busy={action.busy} setError={action.setError} />
      ) : null}
    </li>
  );
}

function MinutesBody({ body, lang }: { body: Record<string, unknown>; lang: Lang }) {
  const items = Array.isArray(body.items) ? (body.items as Record<string, unknown>[]) : [];
  return (
    <div class="minutes-body">
      {typeof body.held_at === "string" ? (
        <p>
          {t(lang, "heldAt")}: <Time iso={body.held_at} lang={lang} />
        </p>
      ) : null}
      {Array.isArray(body.attendees) ? (
        <p>
          {t(lang, "attendees")}: {(body.attendees as string[]).join(", ")}
        </p>
      ) : null}
      <ol>
        {items.map((i) => (
          <li>
            <strong>{String(i.agenda_item)}</strong>
            {i.notes ? `: ${String(i.notes)}` : ""}
          </li>
        ))}
      </ol>
    </div>
  );
}

export function Meetings(props: Props) {
  const { lang } = props;
  const [list, setList] = useState<Meeting[] | null>(null);
  const [myLines, setMyLines] = useState<Line[]>([]);
  // One reading at a time; one more right after if asked for meanwhile.
  const reading = useRef({ busy: false, again: false });
  const reload = async (): Promise<void> => {
    const r = reading.current;
    if (r.busy) {
      r.again = true;
      return;
    }
    r.busy = true;
    try {
      const [m, l] = await Promise.all([api.meetings(), api.lines()]);
      setList(m);
      setMyLines(l);
    } catch (e) {
      if (e instanceof api.ApiError && e.status === 401) return props.onEnded();
      action.setError(e instanceof Error ? e.message : String(e));
    } finally {
      r.busy = false;
      if (r.again) {
        r.again = false;
        void reload();
      }
    }
  };
  const action = useAction(props, reload);
  useEffect(() => {
    const poll = setInterval(() => void reload(), 5000);
    return () => clearInterval(poll);
  }, []);
  // At first, and at each event of the live feed (the peer's step arrives as a message).
  useEffect(() => void reload(), [props.events]);
  return (
    <div class="meetings">
      {action.error ? (
        <p class="error meeting-error" role="alert">
          {action.error}
        </p>
      ) : null}
      {action.done ? (
        <p class="sent" role="status" data-meeting-done="">
          {action.done}
        </p>
      ) : null}
      <h2>{t(lang, "meetings")}</h2>
      {list === null ? (
        <p>{t(lang, "loading")}</p>
      ) : list.length === 0 ? (
        <p>{t(lang, "noMeetings")}</p>
      ) : (
        <ul class="messages" aria-label={t(lang, "meetings")}>
          {list.map((m) => (
            <MeetingItem m={m} lang={lang} party={props.party} action={action} />
          ))}
        </ul>
      )}
      <Propose lang={lang} lines={myLines} run={action.run} busy={action.busy} setError={action.setError} />
    </div>
  );
}
