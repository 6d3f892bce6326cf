// "Verify here": checks a message's evidence (GET /api/v1/messages/{id}/evidence) in the
// browser, with @noble/ed25519 and @noble/hashes, independently of the gateway's own checks.
// The rules are docs/transcript.md's: DSSE v1 signatures over the pre-authentication
// encoding, the envelope's log entry (its canonical text), the RFC 6962 leaf and node hashes,
// the inclusion proof walked as RFC 9162 §2.1.3.2, the receipt v2 that countersigns the log
// owner's signed tree head (STH). Each check is reported on its own; the evidence holds only
// if every one passes.
import * as ed from "@noble/ed25519";
import { sha256, sha512 } from "@noble/hashes/sha2";

// @noble/ed25519 hashes with SHA-512 from @noble/hashes (synchronously: no WebCrypto needed).
ed.etc.sha512Sync = (...messages: Uint8Array[]) => sha512(ed.etc.concatBytes(...messages));

export const envelopeDomain = "application/vnd.parley.envelope.v1+json";
export const sthDomain = "application/vnd.parley.sth.v1+json";
export const receiptDomain = "application/vnd.parley.receipt.v2+json";

export interface Dsse {
  key: string;
  payload: string;
  sig: string;
}

export interface Proof {
  index: number;
  size: number;
  root: string;
  path: string[];
}

export interface Evidence {
  id: string;
  direction: "inbound" | "outbound";
  log: { owner: string; peer: string };
  envelope: Dsse;
  proof: Proof | null;
  countersignature: Dsse | null;
  keys: Record<string, string>;
  // The owner's key that signed the proven head (base64), null without a proof. After a
  // rotation between the entry and that head it is a later key than keys[owner].
  head_key?: string | null;
}

export type CheckName = "envelope" | "leaf" | "inclusion" | "sth" | "countersignature" | "listed";

export interface Check {
  name: CheckName;
  ok: boolean;
  detail: string; // what was checked, or why it failed
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

// RFC 4648 §4 base64, strict: the standard alphabet, padding, canonical (what parley writes).
export function fromBase64(text: string): Uint8Array {
  if (typeof text !== "string" || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw new Error("not base64");
  }
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  if (toBase64(bytes) !== text) throw new Error("not canonical base64");
  return bytes;
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(text: string): Uint8Array {
  if (typeof text !== "string" || !/^[0-9a-f]{64}$/.test(text)) throw new Error(`not a hash: ${String(text).slice(0, 70)}`);
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++) bytes[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

const concat = (...parts: Uint8Array[]) => ed.etc.concatBytes(...parts);

// DSSE v1: "DSSEv1" SP LEN(domain) SP domain SP LEN(payload) SP payload.
export function pae(domain: string, payload: Uint8Array): Uint8Array {
  const d = encoder.encode(domain);
  return concat(encoder.encode(`DSSEv1 ${d.length} `), d, encoder.encode(` ${payload.length} `), payload);
}

// Whether `doc` is signed for `domain` by the key pinned for `party` (and names that party).
function verifyDsse(doc: Dsse, domain: string, party: string, keys: Record<string, string>): Uint8Array {
  if (doc.key !== party) throw new Error(`signed by ${doc.key}, expected ${party}`);
  const key = keys[party];
  if (!key) throw new Error(`no pinned key for ${party}`);
  const payload = fromBase64(doc.payload);
  const signature = fromBase64(doc.sig);
  const publicKey = fromBase64(key);
  if (signature.length !== 64 || publicKey.length !== 32) throw new Error("malformed key or signature");
  // zip215 false: RFC 8032's strict rules, as libsodium verifies.
  if (!ed.verify(signature, pae(domain, payload), publicKey, { zip215: false })) {
    throw new Error(`bad signature by ${party}`);
  }
  return payload;
}

// The envelope's log entry (docs/transcript.md): its canonical text, fields in this order.
export function logEntry(envelope: Dsse): Uint8Array {
  return encoder.encode(`{"key":"${envelope.key}","payload":"${envelope.payload}","sig":"${envelope.sig}"}`);
}

export const leafHash = (entry: Uint8Array) => sha256(concat(Uint8Array.of(0), entry));
const nodeHash = (left: Uint8Array, right: Uint8Array) => sha256(concat(Uint8Array.of(1), left, right));

// RFC 9162 §2.1.3.2: the root the audit path leads to from leaf `index` of a tree of `size`,
// or an error if the path has more or fewer hashes than the walk consumes.
export function rootFromProof(index: number, size: number, leaf: Uint8Array, path: Uint8Array[]): Uint8Array {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    throw new Error(`leaf index ${index} is not in a tree of size ${size}`);
  }
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) throw new Error("the proof has more hashes than the tree needs");
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new Error("the proof has fewer hashes than the tree needs");
  return r;
}

function parseJson(bytes: Uint8Array): Record<string, unknown> {
  const value: unknown = JSON.parse(decoder.decode(bytes));
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error("not a JSON object");
  return value as Record<string, unknown>;
}

function run(checks: Check[], name: CheckName, fn: () => string): boolean {
  try {
    checks.push({ name, ok: true, detail: fn() });
    return true;
  } catch (e) {
    checks.push({ name, ok: false, detail: e instanceof Error ? e.message : String(e) });
    return false;
  }
}

// Every check of `e`, in order; a check that needs an earlier one's result fails with it.
export function verifyEvidence(e: Evidence): Check[] {
  const checks: Check[] = [];
  const { owner, peer } = e.log;
  run(checks, "envelope", () => {
    const payload = parseJson(verifyDsse(e.envelope, envelopeDomain, owner, e.keys));
    if (payload.id !== e.id) throw new Error(`the signed payload is message ${String(payload.id)}, not ${e.id}`);
    return `signed by ${owner} (Ed25519, ${envelopeDomain})`;
  });
  let leaf: Uint8Array | null = null;
  run(checks, "leaf", () => {
    leaf = leafHash(logEntry(e.envelope));
    return `SHA-256(0x00 || entry) = ${toHex(leaf)}`;
  });
  const proof = e.proof;
  let root: Uint8Array | null = null;
  run(checks, "inclusion", () => {
    if (!proof) throw new Error("no inclusion proof yet (the message has no countersigned head)");
    if (!leaf) throw new Error("no leaf hash");
    root = rootFromProof(proof.index, proof.size, leaf, proof.path.map(fromHex));
    if (toHex(root) !== proof.root) throw new Error(`the proof leads to ${toHex(root)}, not the head's root ${proof.root}`);
    return `leaf ${proof.index} of ${proof.size}: root ${proof.root}`;
  });
  const receipt = e.countersignature;
  let receiptPayload: Record<string, unknown> | null = null;
  run(checks, "countersignature", () => {
    if (!receipt) throw new Error("no countersignature yet");
    receiptPayload = parseJson(verifyDsse(receipt, receiptDomain, peer, e.keys));
    if (receiptPayload.v !== 2 || receiptPayload.from !== peer || receiptPayload.to !== owner) {
      throw new Error("the receipt is not a v2 receipt from " + peer + " to " + owner);
    }
    return `countersigned by ${peer} at ${String(receiptPayload.received)}`;
  });
  run(checks, "sth", () => {
    if (!receiptPayload) throw new Error("no countersignature");
    if (!root || !proof) throw new Error("no verified inclusion proof");
    const sthBytes = fromBase64(String(receiptPayload.sth));
    const sthSig = fromBase64(String(receiptPayload.sth_sig));
    const headKeys = e.head_key ? { ...e.keys, [owner]: e.head_key } : e.keys;
    verifyDsse({ key: owner, payload: toBase64(sthBytes), sig: toBase64(sthSig) }, sthDomain, owner, headKeys);
    const sth = parseJson(sthBytes);
    if (sth.log !== owner || sth.peer !== peer) throw new Error(`the head is of log ${String(sth.log)}/${String(sth.peer)}`);
    if (sth.size !== proof.size || sth.root !== toHex(root)) {
      throw new Error(`the countersigned head is size ${String(sth.size)} root ${String(sth.root)}, not the proof's`);
    }
    return `${owner}'s head, size ${proof.size}, signed at ${String(sth.timestamp)}`;
  });
  run(checks, "listed", () => {
    if (!receiptPayload || !proof) throw new Error("no countersignature");
    const ids = receiptPayload.ids;
    const indices = receiptPayload.indices;
    if (!Array.isArray(ids) || !Array.isArray(indices) || ids.length !== indices.length) throw new Error("malformed receipt");
    const at = ids.indexOf(e.id);
    if (at < 0) {
      if (e.direction === "outbound") throw new Error("the peer's receipt does not list the message");
      return "the head's countersignature came with another transaction";
    }
    if (indices[at] !== proof.index) throw new Error(`the receipt lists it at ${String(indices[at])}, not ${proof.index}`);
    return `the receipt lists the message at leaf ${proof.index}`;
  });
  return checks;
}
