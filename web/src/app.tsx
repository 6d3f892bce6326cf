// The console: sign-in, then the inbox, the outbox, compose, meetings and the gateway's
// state (escalations, paths, witnesses), kept live by the event stream, and the evidence of
// one message. A FLASH awaiting acknowledgment stays in an alert at the top until it is
// acknowledged.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import * as api from "./api";
import type { Escalation, Message, SessionInfo, Status } from "./api";
import { Compose } from "./compose";
import { EvidenceView } from "./evidence";
import { connectEvents, type LiveState } from "./events";
import { asLang, langs, t, tDynamic, type Lang } from "./i18n";
import { Meetings } from "./meetings";
import { EscalationProgress, Monitor } from "./monitor";
import { duration } from "./time";
import { Time } from "./ui";

export type View = "inbox" | "outbox" | "compose" | "meetings" | "status" | "evidence";
export const navViews = ["inbox", "outbox", "compose", "meetings", "status"] as const;

interface Box {
  messages: Message[];
  fetchedAt: number; // Date.now() when time_left_ms was computed by the gateway
}

// Which box an event concerns (docs/openapi.yaml /api/v1/events); both if not listed.
const boxOf: Record<string, "inbox" | "outbox"> = {
  message: "inbox",
  delivered: "outbox",
  acknowledged: "outbox",
  refused: "outbox",
  expired: "outbox",
  cancelled: "outbox",
};

const settled = new Set(["acknowledged", "answered", "expired", "refused", "cancelled"]);
const notAcked = new Set(["ack", "stage.shown", "translation"]);

// The chip: the state, refined by the stages the gateway reports.
export function chipState(m: Message): string {
  if (m.stages.answered) return "answered";
  if (m.state === "delivered" && m.stages.shown) return "shown";
  return m.state;
}

function canAcknowledge(m: Message): boolean {
  return m.direction === "inbound" && !notAcked.has(m.type) && (m.state === "delivered" || m.state === "overdue");
}

// The FLASH tone's audio context: made once, at the officer's first click (browsers let a
// page play sound only after a user gesture, and making one can hold the page's thread for a
// moment, which must not be when a FLASH arrives).
let audio: AudioContext | null = null;
function primeAudio() {
  try {
    audio ??= new AudioContext();
    void audio.resume();
  } catch {
    audio = null;
  }
}
document.addEventListener("pointerdown", primeAudio, { once: true });
document.addEventListener("keydown", primeAudio, { once: true });

function beep() {
  try {
    if (!audio) return; // no gesture yet: the visible alert remains
    const oscillator = audio.createOscillator();
    const gain = audio.createGain();
    oscillator.frequency.value = 880;
    gain.gain.value = 0.2;
    oscillator.connect(gain).connect(audio.destination);
    oscillator.start();
    oscillator.stop(audio.currentTime + 0.6);
  } catch {
    // No audio output: the visible alert remains.
  }
}

function Countdown({ m, box, lang }: { m: Message; box: Box; lang: Lang }) {
  if (settled.has(m.state) || notAcked.has(m.type)) return null;
  const left = m.time_left_ms - (Date.now() - box.fetchedAt);
  return (
    <p class={`countdown${left < 0 ? " overdue" : ""}`} data-countdown="">
      {t(lang, left < 0 ? "overdueBy" : "timeLeft")}: <span class="mono">{duration(left)}</span>
    </p>
  );
}

interface ItemProps {
  box: Box;
  lang: Lang;
  onAck: (id: string) => void;
  onEvidence: (id: string) => void;
  escalations: Map<string, Escalation>;
}

function MessageItem(props: ItemProps & { m: Message; busy: boolean }) {
  const { m, box, lang } = props;
  const escalation = props.escalations.get(m.id);
  const chip = chipState(m);
  return (
    <li class={`message precedence-${m.precedence.toLowerCase()}`} data-message-id={m.id}>
      <div class="message-head">
        <span class={`precedence precedence-${m.precedence.toLowerCase()}`}>{m.precedence}</span>
        <span class={`chip state-${chip}`} data-state={chip}>
          <span class="visually-hidden">{t(lang, "state")}: </span>
          {tDynamic(lang, `state_${chip}`)}
        </span>
        <span class="type">{m.type}</span>
        <span class="addresses">
          {t(lang, "from")} {m.from} → {t(lang, "to")} {m.to} ({t(lang, "line")} {m.line})
        </span>
      </div>
      <p class="rendered" lang={m.lang}>
        {m.rendered}
      </p>
      {m.refusal ? (
        <p class="refusal">
          {t(lang, "refusal")}: {m.refusal}
        </p>
      ) : null}
      {m.translations.length > 0 ? (
        <div class="translations">
          <h4>{t(lang, "translations")}</h4>
          <ul>
            {m.translations.map((tr) => (
              <li lang={tr.language ?? undefined}>
                <span class="badge">{tr.language ?? "?"}</span> {tr.text}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <dl class="stages">
        <dt>{t(lang, "created")}</dt>
        <dd>
          <Time iso={m.created} lang={lang} />
        </dd>
        {(["stored", "shown", "acknowledged", "answered"] as const).map((stage) => (
          <>
            <dt>{tDynamic(lang, `stage_${stage}`)}</dt>
            <dd data-stage={stage}>
              <Time iso={m.stages[stage]} lang={lang} />
            </dd>
          </>
        ))}
        <dt>{t(lang, "ackDeadline")}</dt>
        <dd>
          <Time iso={m.ack_deadline} lang={lang} />
        </dd>
      </dl>
      <Countdown m={m} box={box} lang={lang} />
      {escalation ? <EscalationProgress e={escalation} lang={lang} /> : null}
      <button
        type="button"
        class="evidence-open"
        aria-label={`${t(lang, "evidence")}: ${m.precedence} ${m.type} ${t(lang, "from")} ${m.from}`}
        onClick={() => props.onEvidence(m.id)}
      >
        {t(lang, "evidence")}
      </button>{" "}
      {canAcknowledge(m) ? (
        <button
          type="button"
          class="ack"
          disabled={props.busy}
          aria-label={`${t(lang, "acknowledgeMessage")} ${m.precedence} ${m.type} ${t(lang, "from")} ${m.from}`}
          onClick={() => props.onAck(m.id)}
        >
          {t(lang, "acknowledge")}
        </button>
      ) : null}
    </li>
  );
}

function MessageList(props: Omit<ItemProps, "box"> & { box: Box | null; busy: Set<string>; label: string }) {
  const { box, lang } = props;
  if (!box) return <p>{t(lang, "loading")}</p>;
  if (box.messages.length === 0) return <p>{t(lang, "empty")}</p>;
  return (
    <ul class="messages" aria-label={props.label}>
      {box.messages.map((m) => (
        <MessageItem
          m={m}
          box={box}
          lang={lang}
          onAck={props.onAck}
          onEvidence={props.onEvidence}
          escalations={props.escalations}
          busy={props.busy.has(m.id)}
        />
      ))}
    </ul>
  );
}

function SignIn(props: { lang: Lang; notice: string; onSignedIn: (s: SessionInfo) => void }) {
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const field = input.current;
    if (!field) return;
    const token = field.value.trim();
    // The token leaves the page's state at once: only the cookie remains.
    field.value = "";
    setBusy(true);
    setError("");
    try {
      props.onSignedIn(await api.signIn(token));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  const { lang } = props;
  return (
    <main class="sign-in">
      <h1>{t(lang, "title")}</h1>
      {props.notice ? (
        <p class="notice" role="status">
          {props.notice}
        </p>
      ) : null}
      <form onSubmit={submit} aria-label={t(lang, "signIn")}>
        <label for="token">{t(lang, "token")}</label>
        <input id="token" name="token" type="password" autoComplete="off" required aria-describedby="token-help" ref={input} />
        <p class="help" id="token-help">
          {t(lang, "tokenHelp")}
        </p>
        <button type="submit" disabled={busy}>
          {t(lang, "signIn")}
        </button>
        {error ? (
          <p class="error" role="alert">
            {error}
          </p>
        ) : null}
      </form>
    </main>
  );
}

export function App() {
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  const [lang, setLang] = useState<Lang>(asLang(localStorage.getItem("parley.lang") ?? navigator.language.slice(0, 2)));
  const [view, setView] = useState<View>("inbox");
  const [inbox, setInbox] = useState<Box | null>(null);
  const [outbox, setOutbox] = useState<Box | null>(null);
  const [status, setStatus] = useState<Status | null>(null);
  const [evidenceId, setEvidenceId] = useState("");
  const [backTo, setBackTo] = useState<View>("inbox");
  const [events, setEvents] = useState(0);
  const [live, setLive] = useState<LiveState>("connecting");
  const [notice, setNotice] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState<Set<string>>(new Set());
  const [, setTick] = useState(0);
  const alerted = useRef<Set<string>>(new Set());

  // The party's language unless the officer chose one with the switch (remembered).
  const chooseLang = (l: Lang, remember = true) => {
    setLang(l);
    if (remember) localStorage.setItem("parley.lang", l);
    document.documentElement.lang = l;
  };

  const ended = (reason: string) => {
    setSession(null);
    setInbox(null);
    setOutbox(null);
    setStatus(null);
    setNotice(reason);
  };

  // Reads the boxes again (both, or the one an event concerns: a message arriving is news
  // for the inbox only, and the alert should not wait for the outbox).
  // One reading at a time: what is asked for meanwhile is read once right after (a burst of
  // events must not become a burst of requests against the principal's rate limit).
  const reading = useRef<{ busy: boolean; next: Set<"inbox" | "outbox" | "all"> }>({ busy: false, next: new Set() });
  const refresh = async (only?: "inbox" | "outbox") => {
    const r = reading.current;
    if (r.busy) {
      r.next.add(only ?? "all");
      return;
    }
    r.busy = true;
    try {
      await read(only);
    } finally {
      r.busy = false;
      const next = r.next;
      r.next = new Set();
      if (next.size > 0) void refresh(next.has("all") || next.size > 1 ? undefined : [...next][0] as "inbox" | "outbox");
    }
  };
  const read = async (only?: "inbox" | "outbox") => {
    try {
      await Promise.all([
        ...(["inbox", "outbox"] as const)
          .filter((box) => only === undefined || box === only)
          .map(async (box) => {
            const list = await api.listMessages(box);
            (box === "inbox" ? setInbox : setOutbox)({ messages: list.messages, fetchedAt: Date.now() });
          }),
        // The escalations (and, for the watch, paths and witnesses) after the boxes' news.
        api.status().then(setStatus),
      ]);
      setError("");
    } catch (e) {
      if (e instanceof api.ApiError && e.status === 401) return ended(t(lang, "sessionEnded"));
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  // At load: a session cookie may already be there.
  useEffect(() => {
    api
      .getSession()
      .then((s) => {
        setSession(s);
        if (!localStorage.getItem("parley.lang")) chooseLang(asLang(s.lang), false);
      })
      .catch(() => setSession(null));
  }, []);

  useEffect(() => {
    if (!session) return;
    void refresh();
    const feed = connectEvents(
      (name) => {
        setEvents((n) => n + 1);
        void refresh(boxOf[name]);
      },
      (state) => {
        setLive(state);
        // Catch up on what was missed; and a gateway that restarted has ended the session
        // (sessions live in its memory): the refresh's 401 brings the sign-in back.
        if (state !== "connecting") void refresh();
      },
    );
    const tick = setInterval(() => setTick((n) => n + 1), 1000);
    // The paths' heartbeats and the escalations' alerts change without an event to a
    // principal: the state is read again every few seconds.
    const poll = setInterval(() => void refresh(), 5000);
    return () => {
      feed.close();
      clearInterval(tick);
      clearInterval(poll);
    };
  }, [session]);

  const escalations = useMemo(() => new Map((status?.escalations ?? []).map((e) => [e.message_id, e])), [status]);
  const openEvidence = (id: string) => {
    setEvidenceId(id);
    setBackTo(view);
    setView("evidence");
  };

  const flashes = useMemo(
    () =>
      (inbox?.messages ?? []).filter(
        (m) => m.precedence === "FLASH" && !notAcked.has(m.type) && !settled.has(chipState(m)),
      ),
    [inbox],
  );
  useEffect(() => {
    const fresh = flashes.filter((m) => !alerted.current.has(m.id));
    for (const m of fresh) alerted.current.add(m.id);
    if (fresh.length > 0) beep();
  }, [flashes]);

  const acknowledge = async (id: string) => {
    setBusy((b) => new Set(b).add(id));
    try {
      await api.acknowledge(id);
      await refresh();
    } catch (e) {
      if (e instanceof api.ApiError && e.status === 401) return ended(t(lang, "sessionEnded"));
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy((b) => {
        const next = new Set(b);
        next.delete(id);
        return next;
      });
    }
  };

  const signOut = async () => {
    try {
      await api.signOut();
    } catch {
      // Signed out here whatever the gateway answered: the cookie is cleared below.
    }
    ended("");
  };

  const langSwitch = (
    <div class="lang-switch" role="group" aria-label={t(lang, "language")}>
      {langs.map((l) => (
        <button type="button" aria-pressed={l === lang ? "true" : "false"} onClick={() => chooseLang(l)} lang={l}>
          {l === "en" ? "English" : "Русский"}
        </button>
      ))}
    </div>
  );

  if (session === undefined) return <p>{t(lang, "loading")}</p>;
  if (session === null) {
    return (
      <>
        <header class="top">{langSwitch}</header>
        <SignIn
          lang={lang}
          notice={notice}
          onSignedIn={(s) => {
            setNotice("");
            if (!localStorage.getItem("parley.lang")) chooseLang(asLang(s.lang), false);
            setSession(s);
          }}
        />
      </>
    );
  }

  return (
    <>
      <header class="top">
        <h1>{t(lang, "title")}</h1>
        <p class="who">
          {t(lang, "signedInAs")} <strong data-principal="">{session.principal}</strong> ({session.party})
        </p>
        <p class={`live live-${live}`} role="status" aria-live="polite" data-live={live}>
          {live === "connected" ? t(lang, "connected") : t(lang, "disconnected")}
        </p>
        {langSwitch}
        <button type="button" class="sign-out" onClick={() => void signOut()}>
          {t(lang, "signOut")}
        </button>
      </header>
      {flashes.length > 0 ? (
        <section class="flash-alert" role="alert" aria-label={t(lang, "flashAlert")}>
          <h2>{t(lang, "flashAlert")}</h2>
          <ul>
            {flashes.map((m) => (
              <li data-flash-id={m.id}>
                <span class="rendered">
                  {m.from}: {m.rendered}
                </span>
                {canAcknowledge(m) ? (
                  <button
                    type="button"
                    class="ack"
                    disabled={busy.has(m.id)}
                    aria-label={`${t(lang, "acknowledgeMessage")} FLASH ${m.type} ${t(lang, "from")} ${m.from}`}
                    onClick={() => void acknowledge(m.id)}
                  >
                    {t(lang, "acknowledge")}
                  </button>
                ) : null}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <nav aria-label={t(lang, "views")}>
        {navViews.map((v) => (
          <button type="button" aria-current={v === view ? "page" : undefined} onClick={() => setView(v)} data-view={v}>
            {t(lang, v)}
          </button>
        ))}
      </nav>
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      <main>
        {view === "inbox" || view === "outbox" ? (
          <MessageList
            box={view === "inbox" ? inbox : outbox}
            lang={lang}
            onAck={(id) => void acknowledge(id)}
            onEvidence={openEvidence}
            escalations={escalations}
            busy={busy}
            label={t(lang, view)}
          />
        ) : null}
        {view === "compose" ? <Compose lang={lang} onSent={() => void refresh()} onEnded={() => ended(t(lang, "sessionEnded"))} /> : null}
        {view === "meetings" ? <Meetings lang={lang} party={session.party} events={events} onEnded={() => ended(t(lang, "sessionEnded"))} /> : null}
        {view === "status" ? <Monitor status={status} lang={lang} /> : null}
        {view === "evidence" && evidenceId ? (
          <EvidenceView id={evidenceId} lang={lang} onBack={() => setView(backTo)} onEnded={() => ended(t(lang, "sessionEnded"))} />
        ) : null}
      </main>
    </>
  );
}
