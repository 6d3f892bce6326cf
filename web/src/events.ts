// The live feed: GET /api/v1/events (server-sent events) with the session cookie. The
// browser's EventSource reconnects by itself after a network error, sending the id of the
// last event it got (Last-Event-ID), so that the gateway sends what it missed; when the gateway
// answers with an error instead (a restart ended the session: 401) it gives up, so this
// retries on its own, at most every few seconds, and reports each state change.

export type LiveState = "connecting" | "connected" | "disconnected";

const eventNames = [
  "message",
  "delivered",
  "acknowledged",
  "overdue",
  "refused",
  "expired",
  "cancelled",
  "escalation",
  "alert",
  // Events the page missed are no longer kept (GET /api/v1/events, Last-Event-ID): the
  // boxes are read again.
  "reset",
];

export interface LiveFeed {
  close(): void;
}

export function connectEvents(
  onEvent: (name: string, data: unknown) => void,
  onState: (state: LiveState) => void,
  retryMs = 2000,
): LiveFeed {
  let source: EventSource | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let closed = false;

  const open = () => {
    if (closed) return;
    onState("connecting");
    source = new EventSource("/api/v1/events", { withCredentials: true });
    source.onopen = () => onState("connected");
    source.onerror = () => {
      onState("disconnected");
      if (source && source.readyState === EventSource.CLOSED) {
        source = null;
        timer = setTimeout(open, retryMs);
      }
    };
    for (const name of eventNames) {
      source.addEventListener(name, (e) => {
        let data: unknown = null;
        try {
          data = JSON.parse((e as MessageEvent<string>).data);
        } catch {
          data = null;
        }
        onEvent(name, data);
      });
    }
  };
  open();
  return {
    close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      source?.close();
    },
  };
}
