// The console's only way to the gateway: its public HTTP API (docs/openapi.yaml), same
// origin, authenticated by the HttpOnly session cookie. Requests that change state carry
// the session's CSRF token (from GET /api/v1/session) in X-Parley-CSRF; the browser adds
// Origin itself.
import type { Evidence } from "./verify";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface SessionInfo {
  principal: string;
  name: string;
  party: string;
  lang: string;
  expires: string;
  csrf: string;
}

export interface Stages {
  stored: string | null;
  shown: string | null;
  acknowledged: string | null;
  answered: string | null;
}

export interface Translation {
  id: string;
  from: string;
  language: string | null;
  text: string;
  created: string;
}

export interface Message {
  id: string;
  line: string;
  seq: number;
  direction: "inbound" | "outbound";
  from: string;
  to: string;
  precedence: Precedence;
  type: string;
  state: string;
  created: string;
  expires: string | null;
  lang: string;
  body: Record<string, unknown>;
  text: string;
  rendered: string;
  warning: string | null;
  ack_deadline: string;
  delivered_at: string | null;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  refusal: string | null;
  time_left_ms: number;
  stages: Stages;
  translations: Translation[];
}

export type Precedence = "FLASH" | "IMMEDIATE" | "PRIORITY" | "ROUTINE";
export const precedences: Precedence[] = ["FLASH", "IMMEDIATE", "PRIORITY", "ROUTINE"];

export interface Line {
  id: string;
  local: string;
  remote: string;
  alternates: string[];
}

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  format?: string;
  description?: string;
  title?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  [keyword: string]: unknown;
}

export interface CatalogType {
  type: string;
  version: number;
  title: Record<string, string>;
  schema: JsonSchema;
  example: Record<string, unknown>;
  labels: Record<string, Record<string, string>>;
  values: Record<string, Record<string, Record<string, string>>>;
}

export interface MessageList {
  messages: Message[];
  next_cursor: string | null;
  time: string;
}

let csrf: string | null = null;

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrf !== null) headers["X-Parley-CSRF"] = csrf;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (e) {
    throw new ApiError(0, e instanceof Error ? e.message : String(e));
  }
  const text = await response.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const reason =
      data !== null && typeof data === "object" && typeof (data as { error?: unknown }).error === "string"
        ? (data as { error: string }).error
        : `HTTP ${response.status}`;
    throw new ApiError(response.status, reason);
  }
  return data as T;
}

// The current session (the cookie), or an ApiError 401 when there is none.
export async function getSession(): Promise<SessionInfo> {
  const session = await call<SessionInfo>("GET", "/api/v1/session");
  csrf = session.csrf;
  return session;
}

// Exchanges a principal's token for a session cookie; the token is not kept.
export async function signIn(token: string): Promise<SessionInfo> {
  const session = await call<SessionInfo>("POST", "/api/v1/session", { token });
  csrf = session.csrf;
  return session;
}

export async function signOut(): Promise<void> {
  try {
    await call<unknown>("DELETE", "/api/v1/session");
  } finally {
    csrf = null;
  }
}

export function listMessages(box: "inbox" | "outbox"): Promise<MessageList> {
  return call<MessageList>("GET", `/api/v1/messages?box=${box}&limit=200`);
}

export function acknowledge(id: string): Promise<{ id: string; ack_id: string; state: string }> {
  return call("POST", `/api/v1/messages/${encodeURIComponent(id)}/ack`);
}

export async function lines(): Promise<Line[]> {
  return (await call<{ lines: Line[] }>("GET", "/api/v1/lines")).lines;
}

export function catalog(): Promise<CatalogType[]> {
  return call<CatalogType[]>("GET", "/api/v1/catalog");
}

export interface NewMessage {
  line: string;
  precedence: Precedence;
  type: string;
  body: Record<string, unknown>;
  text?: string;
}

export function send(message: NewMessage): Promise<{ id: string; state: string }> {
  return call("POST", "/api/v1/messages", message);
}

// ---- monitoring (GET /api/v1/status; docs/openapi.yaml Status, LineStatus, Escalation) ----

export interface Escalation {
  message_id: string;
  peer: string;
  line: string;
  precedence: Precedence;
  side: "sender" | "receiver";
  deadline: string;
  overdue: boolean;
  alerted: { principal: string; at: string; last: string; alerts: number }[];
  next_alert: string | null;
  next: string[];
}

export interface SignedContact {
  time: string;
  received: string;
  payload: string;
  signature: string;
}

export interface Path {
  address: string;
  state: "up" | "down" | "unknown";
  active: boolean;
  last_contact: string | null;
  last_error: string | null;
  last_heartbeat: SignedContact | null;
}

export interface Peer {
  party: string;
  paths: Path[];
  queued: number;
  oldest_queued: string | null;
  unacknowledged: number;
  overdue: number;
  inbound_unacknowledged?: number;
  inbound_overdue?: number;
  log_size?: number;
  countersigned_size?: number;
  peer_log_size?: number;
  forks_detected?: number;
}

export interface WitnessStatus {
  witnessed: { origin: string; size: number }[];
  split_views: { origin: string; kind: string; witnessed: string; offered: string; seen: string }[];
  alert: boolean;
  cosignatures: { origin: string; witness: string; size: number }[];
}

// The whole gateway (the role watch) or only the caller's lines (scope "lines").
export interface Status {
  party: string;
  ready: boolean;
  time: string;
  scope?: "lines";
  escalations: Escalation[];
  lines?: { id: string; local: string; remote: string; peer_reachable: boolean }[];
  peers?: Peer[];
  witness?: WitnessStatus;
  evidence?: number;
}

export function status(): Promise<Status> {
  return call<Status>("GET", "/api/v1/status");
}

// ---- evidence (GET /api/v1/messages/{id}/evidence) ----

export function evidence(id: string): Promise<Evidence> {
  return call("GET", `/api/v1/messages/${encodeURIComponent(id)}/evidence`);
}

// ---- meetings (docs/openapi.yaml, tag meetings) ----

export interface ActionItem {
  id: string;
  text?: string;
  owner: string;
  agenda_item?: string;
  due: string;
  done: boolean;
  done_at?: string | null;
  done_by?: string | null;
  status: "open" | "reminder" | "overdue" | "done";
}

export interface Meeting {
  id: string;
  line: string;
  title: string;
  state: "proposed" | "countered" | "scheduled" | "declined" | "cancelled" | "held";
  proposer?: string;
  parties?: string[];
  agenda: string[];
  offered?: { slots: string[]; by: string | null };
  slot: string | null;
  minutes: {
    hash: string | null;
    signed_by: string[];
    final: boolean;
    by?: string;
    at?: string;
    body?: Record<string, unknown>;
  };
  actions: ActionItem[];
  refused?: { id: string; type: string; by: string; reason: string }[];
}

export interface MeetingStepAnswer {
  id: string;
  meeting: string;
  type: string;
  state: string;
  minutes_hash?: string;
}

export async function meetings(): Promise<Meeting[]> {
  return (await call<{ meetings: Meeting[] }>("GET", "/api/v1/meetings")).meetings;
}

export function proposeMeeting(request: {
  line: string;
  title: string;
  slots: string[];
  agenda?: string[];
}): Promise<MeetingStepAnswer> {
  return call("POST", "/api/v1/meetings", request);
}

export type MeetingStep = "counter" | "accept" | "decline" | "reschedule" | "cancel" | "minutes" | "sign";

export function meetingStep(id: string, step: MeetingStep, body: Record<string, unknown>): Promise<MeetingStepAnswer> {
  return call("POST", `/api/v1/meetings/${encodeURIComponent(id)}/${step}`, body);
}

export function actionDone(id: string, item: string): Promise<MeetingStepAnswer> {
  return call("POST", `/api/v1/meetings/${encodeURIComponent(id)}/actions/${encodeURIComponent(item)}/done`, {});
}
