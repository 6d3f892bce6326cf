// The gateway's state for the watch (GET /api/v1/status): who was alerted about each message
// awaiting an acknowledgment and who is next; each federation path up or down with its last
// signed heartbeat; the backlog and the oldest queued message; the allies that cosigned our
// logs, and any split view. A principal without the role `watch` sees only its own lines
// (whether each line's peer is reachable) and their escalations: the API decides.
import type { Escalation, Peer, Status, WitnessStatus } from "./api";
import { t, tDynamic, type Lang } from "./i18n";
import { Time } from "./ui";

export function EscalationProgress({ e, lang }: { e: Escalation; lang: Lang }) {
  return (
    <div class={`escalation${e.overdue ? " overdue" : ""}`} data-escalation={e.message_id}>
      <p>
        <strong>{t(lang, e.side === "receiver" ? "escalationReceiver" : "escalationSender")}</strong>{" "}
        {e.overdue ? <span class="chip state-overdue">{tDynamic(lang, "state_overdue")}</span> : null}
      </p>
      {e.alerted.length === 0 ? (
        <p class="muted">{t(lang, "nobodyAlerted")}</p>
      ) : (
        <ol class="alerted" aria-label={t(lang, "alerted")}>
          {e.alerted.map((a) => (
            <li data-alerted={a.principal}>
              {a.principal}: <Time iso={a.at} lang={lang} />
              {a.alerts > 1 ? ` (${a.alerts}×, ${t(lang, "last")} ` : ""}
              {a.alerts > 1 ? <Time iso={a.last} lang={lang} /> : null}
              {a.alerts > 1 ? ")" : ""}
            </li>
          ))}
        </ol>
      )}
      <p>
        {t(lang, "nextAlert")}:{" "}
        {e.next_alert ? (
          <span data-next-alert={e.next.join(" ")}>
            {e.next.join(", ")} <Time iso={e.next_alert} lang={lang} />
          </span>
        ) : (
          <span data-next-alert="">{t(lang, "none")}</span>
        )}
      </p>
    </div>
  );
}

function Escalations({ list, lang }: { list: Escalation[]; lang: Lang }) {
  return (
    <section aria-labelledby="escalations-title">
      <h2 id="escalations-title">{t(lang, "escalations")}</h2>
      {list.length === 0 ? (
        <p>{t(lang, "noEscalations")}</p>
      ) : (
        <table class="grid">
          <thead>
            <tr>
              <th scope="col">{t(lang, "message")}</th>
              <th scope="col">{t(lang, "line")}</th>
              <th scope="col">{t(lang, "precedence")}</th>
              <th scope="col">{t(lang, "ackDeadline")}</th>
              <th scope="col">{t(lang, "progress")}</th>
            </tr>
          </thead>
          <tbody>
            {list.map((e) => (
              <tr data-escalation-row={e.message_id}>
                <td class="mono wrap">{e.message_id}</td>
                <td>{e.line}</td>
                <td>{e.precedence}</td>
                <td>
                  <Time iso={e.deadline} lang={lang} />
                </td>
                <td>
                  <EscalationProgress e={e} lang={lang} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Paths({ peers, lang }: { peers: Peer[]; lang: Lang }) {
  return (
    <section aria-labelledby="paths-title">
      <h2 id="paths-title">{t(lang, "pathHealth")}</h2>
      {peers.length === 0 ? <p>{t(lang, "noPeers")}</p> : null}
      {peers.map((p) => (
        <div class="peer" data-peer={p.party}>
          <h3>{p.party}</h3>
          <p>
            {t(lang, "backlog")}: <strong data-backlog="">{p.queued}</strong>; {t(lang, "oldestQueued")}:{" "}
            {p.oldest_queued ? <Time iso={p.oldest_queued} lang={lang} /> : t(lang, "none")}; {t(lang, "unacknowledged")}:{" "}
            {p.unacknowledged}; {t(lang, "overdueCount")}: {p.overdue}
          </p>
          <table class="grid">
            <thead>
              <tr>
                <th scope="col">{t(lang, "address")}</th>
                <th scope="col">{t(lang, "pathState")}</th>
                <th scope="col">{t(lang, "lastHeartbeat")}</th>
                <th scope="col">{t(lang, "lastError")}</th>
              </tr>
            </thead>
            <tbody>
              {p.paths.map((path) => (
                <tr data-path={path.address} data-path-state={path.state}>
                  <td class="mono">
                    {path.address}
                    {path.active ? ` (${t(lang, "active")})` : ""}
                  </td>
                  <td>
                    <span class={`chip path-${path.state}`}>{tDynamic(lang, `path_${path.state}`)}</span>
                  </td>
                  <td data-heartbeat="">
                    {path.last_heartbeat ? (
                      <>
                        {t(lang, "signedAt")} <Time iso={path.last_heartbeat.time} lang={lang} />; {t(lang, "receivedAt")}{" "}
                        <Time iso={path.last_heartbeat.received} lang={lang} />
                      </>
                    ) : (
                      t(lang, "none")
                    )}
                  </td>
                  <td>{path.last_error ?? t(lang, "none")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </section>
  );
}

function Witnesses({ w, lang }: { w: WitnessStatus; lang: Lang }) {
  return (
    <section aria-labelledby="witnesses-title">
      <h2 id="witnesses-title">{t(lang, "witnesses")}</h2>
      {w.alert ? (
        <div class="split-alert" role="alert" data-split-view="">
          <strong>{t(lang, "splitView")}</strong>
          <ul>
            {w.split_views.map((s) => (
              <li>
                {s.origin} ({s.kind}), <Time iso={s.seen} lang={lang} />
              </li>
            ))}
          </ul>
        </div>
      ) : (
        <p data-split-view-none="">{t(lang, "noSplitView")}</p>
      )}
      <h3>{t(lang, "cosignedOurLogs")}</h3>
      {w.cosignatures.length === 0 ? (
        <p>{t(lang, "noCosignatures")}</p>
      ) : (
        <table class="grid">
          <thead>
            <tr>
              <th scope="col">{t(lang, "log")}</th>
              <th scope="col">{t(lang, "witness")}</th>
              <th scope="col">{t(lang, "upToSize")}</th>
            </tr>
          </thead>
          <tbody>
            {w.cosignatures.map((c) => (
              <tr data-cosignature={c.witness} data-origin={c.origin}>
                <td class="mono">{c.origin}</td>
                <td>{c.witness}</td>
                <td data-size="">{c.size}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>{t(lang, "weWitnessed")}</h3>
      {w.witnessed.length === 0 ? (
        <p>{t(lang, "noneWitnessed")}</p>
      ) : (
        <ul>
          {w.witnessed.map((v) => (
            <li data-witnessed={v.origin}>
              <span class="mono">{v.origin}</span>: {t(lang, "upToSize")} {v.size}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function Monitor({ status, lang }: { status: Status | null; lang: Lang }) {
  if (!status) return <p>{t(lang, "loading")}</p>;
  return (
    <div class="monitor">
      <p>
        {t(lang, "gatewayOf")} <strong>{status.party}</strong>: {status.ready ? t(lang, "ready") : t(lang, "notReady")};{" "}
        {t(lang, "asOf")} <Time iso={status.time} lang={lang} />
      </p>
      <Escalations list={status.escalations} lang={lang} />
      {status.scope === "lines" ? (
        <section aria-labelledby="reach-title">
          <h2 id="reach-title">{t(lang, "pathHealth")}</h2>
          <ul>
            {(status.lines ?? []).map((l) => (
              <li data-line-reach={l.id}>
                {t(lang, "line")} {l.id} → {l.remote}:{" "}
                <span class={`chip path-${l.peer_reachable ? "up" : "down"}`}>
                  {tDynamic(lang, l.peer_reachable ? "path_up" : "path_down")}
                </span>
              </li>
            ))}
          </ul>
          <p class="help">{t(lang, "watchRoleNeeded")}</p>
        </section>
      ) : null}
      {status.peers ? <Paths peers={status.peers} lang={lang} /> : null}
      {status.witness ? <Witnesses w={status.witness} lang={lang} /> : null}
    </div>
  );
}
