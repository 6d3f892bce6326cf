// The console in a real browser (run by tests/console_test.sh, which starts the gateways).
// Playwright (npm playwright-core) drives Debian's /usr/bin/chromium headless. Chromium
// refuses to start its sandbox as root (CI runs as root), hence --no-sandbox: the pages it
// loads are the console's own, from gateways on 127.0.0.1.
//
// Checks, in order:
//   - the console's headers: strict Content-Security-Policy, nosniff, immutable assets;
//   - sign-in on both sides: an HttpOnly, SameSite=Strict cookie that expires, the token in
//     neither storage nor document.cookie, the live feed connected;
//   - a FLASH composed on us-eucom's console shows in ru-genstaff's, live, in an alert;
//   - acknowledging it there clears the alert and turns the sender's chip to acknowledged;
//   - compose a notification from the form generated from its schema: an invalid form is
//     refused with the field's message (nothing sent), the gateway's refusal is shown with
//     its reason, and a valid one is sent;
//   - escalation progress: an IMMEDIATE (deadline 3 s on this line) left unacknowledged shows
//     on ru's inbox who was alerted (cgs) and who is next (the alternate deputy), and on us's
//     outbox that the sender was told;
//   - evidence: "verify here" passes for the FLASH on both sides (our message and the peer's),
//     in the browser, also with the parties' bundles pasted in (their keys instead of the
//     gateway's), and fails with another key for ru; the evidence altered on its way to the
//     page (a byte of the envelope, a hash of the proof, the countersignature, a key) fails
//     the check it concerns;
//   - meetings: us proposes, ru accepts a slot, us records minutes with an action item due on
//     a date, both sides see the same minutes hash (the page computes it too) and sign it,
//     and both show the minutes final;
//   - path health and witnesses on the watch officer's console (the role watch): the path to
//     ru-genstaff up with its last signed heartbeat, the backlog, nato-shape's cosignature of
//     our log, no split view; a commander sees only whether its line's peer is reachable;
//   - keyboard: the views are reached with Tab and Enter;
//   - axe-core (injected by the test) finds no serious or critical violation on any view, in
//     English and in Russian, and a screenshot of each is written to SHOTS;
//   - the Russian switch changes the interface's words;
//   - a state-changing request from the page without the CSRF header is refused (403);
//   - a request without the session cookie is refused (401);
//   - sign-out ends the session on the server: the old cookie is refused afterwards (401);
//   - ru's gateway stops: the page says it is disconnected; it starts again: the page finds
//     by itself that the restart ended its session and asks to sign in again, and that works;
//   - no Content-Security-Policy violation and no script error on any page.
// Env: US_URL, RU_URL (the gateways' APIs), US_TOKEN, RU_TOKEN (saceur's and cgs's tokens),
// WATCH_TOKEN (us's watch-1, role watch), AXE (axe-core's axe.min.js), SHOTS (the directory
// for the screenshots), BUNDLES (the directory of the parties' bundles us.json, ru.json and
// nato.json), CHROMIUM (default /usr/bin/chromium); for the restart: PARLEY (the
// binary), RU_HOME, RU_PID (ru's running gateway) and RU_LOG (where the restarted one logs;
// it is stopped at the end).
// Exit 0 if every check passed.
import { spawn } from "node:child_process";
import { mkdirSync, openSync, readFileSync } from "node:fs";
import { chromium } from "playwright-core";
import * as more from "./console.views.mjs";

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`console.test.mjs: ${name} is not set`);
    process.exit(2);
  }
  return value;
};
const US_URL = env("US_URL");
const RU_URL = env("RU_URL");
const US_TOKEN = env("US_TOKEN");
const RU_TOKEN = env("RU_TOKEN");
const WATCH_TOKEN = env("WATCH_TOKEN");
const AXE = env("AXE");
const SHOTS = env("SHOTS");
const BUNDLES = env("BUNDLES");
const WAIT_MS = 10_000; // every wait's deadline
// A fixed viewport: the screenshots are small and the same size every time.
const viewport = { width: 1100, height: 760 };

let passed = 0;
let failed = 0;
const ok = (what) => {
  passed++;
  console.log(`ok: ${what}`);
};
const bad = (what) => {
  failed++;
  console.log(`FAILED: ${what}`);
};
const expect = (what, condition, detail = "") => (condition ? ok(what) : bad(`${what} ${detail}`));
// Runs one step; a thrown error (a wait that timed out) fails it and the steps that depend on it.
async function step(what, fn) {
  try {
    await fn();
    return true;
  } catch (e) {
    bad(`${what}: ${e instanceof Error ? e.message.split("\n")[0] : e}`);
    return false;
  }
}

const problems = []; // CSP violations and script errors, from every page
let restarted = null; // ru's gateway as restarted by this test

// Whether process `pid` has exited within `ms` (gone, or a zombie its parent, the test's
// shell, has not reaped yet).
async function exited(pid, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      return true;
    }
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}
function watch(page, side) {
  page.setDefaultTimeout(WAIT_MS);
  page.on("pageerror", (e) => problems.push(`${side}: script error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && /Content.Security.Policy|Refused to/i.test(m.text())) {
      problems.push(`${side}: ${m.text()}`);
    }
  });
}

async function signIn(page, url, token, principal) {
  await page.goto(`${url}/console/`);
  await page.getByLabel(/API token|API-токен/).fill(token);
  await page.locator("main.sign-in form button[type=submit]").click();
  await page.locator("[data-principal]").filter({ hasText: principal }).waitFor();
  await page.locator('[data-live="connected"]').waitFor();
}

async function cookieOf(context) {
  return (await context.cookies()).find((c) => c.name === "parley_session");
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
  timeout: 30_000,
});
try {
  // --- the console's headers ---
  await step("console headers", async () => {
    const index = await fetch(`${US_URL}/console/`);
    const csp = index.headers.get("content-security-policy") ?? "";
    expect("index: Content-Security-Policy default-src 'self', nothing unsafe", /default-src 'self'/.test(csp) && !/unsafe/.test(csp), csp);
    expect("index: nosniff", index.headers.get("x-content-type-options") === "nosniff");
    expect("index: text/html", (index.headers.get("content-type") ?? "").startsWith("text/html"));
    const html = await index.text();
    const asset = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html);
    expect("index names a hashed script", asset !== null, html.slice(0, 300));
    if (asset) {
      const js = await fetch(`${US_URL}${asset[1]}`);
      expect("script: text/javascript", (js.headers.get("content-type") ?? "").startsWith("text/javascript"));
      expect("script: immutable", /immutable/.test(js.headers.get("cache-control") ?? ""));
    }
  });

  // --- sign in on both sides ---
  // axe-core is added to every page of the contexts whose views it checks, by the browser
  // before the page's own scripts (outside the page's Content-Security-Policy).
  const usContext = await browser.newContext({ viewport });
  await usContext.addInitScript({ path: AXE });
  const ruContext = await browser.newContext({ viewport });
  const us = await usContext.newPage();
  const ru = await ruContext.newPage();
  watch(us, "us");
  watch(ru, "ru");
  const signedIn =
    (await step("sign in on us-eucom", () => signIn(us, US_URL, US_TOKEN, "saceur"))) &&
    (await step("sign in on ru-genstaff", () => signIn(ru, RU_URL, RU_TOKEN, "cgs")));
  expect("both consoles signed in and live", signedIn);
  const usCookie = await cookieOf(usContext);
  expect(
    "the session cookie is HttpOnly, SameSite=Strict, with an expiry",
    usCookie && usCookie.httpOnly && usCookie.sameSite === "Strict" && usCookie.expires > Date.now() / 1000,
    JSON.stringify(usCookie),
  );
  const stored = await us.evaluate(() => [document.cookie, JSON.stringify(localStorage), JSON.stringify(sessionStorage)].join(" "));
  expect("the token is not kept by the browser, nor the cookie readable by script", !stored.includes(US_TOKEN) && !stored.includes("parley_session"), stored);
  expect("ru's console starts in the party's language (Russian)", (await ru.locator("nav").textContent())?.includes("Входящие"));

  // --- a FLASH from us arrives live on ru ---
  const words = `Console FLASH ${Date.now()}`;
  let flashId = "";
  const sent = await step("compose and send a FLASH on us", async () => {
    await us.getByRole("button", { name: "Compose" }).click();
    await us.getByLabel("Precedence").selectOption("FLASH");
    await us.getByLabel("Type", { exact: true }).selectOption("text");
    await us.getByLabel("Free text").fill(words);
    // A second listener on ru's page, for the figures only: when the event itself arrives.
    // And when the alert enters the page (Playwright's own polling may wait behind the
    // alert's tone: creating an AudioContext can hold the page's thread for a while).
    await ru.evaluate((text) => {
      window.parleyEventAt = new Promise((resolve) => {
        const source = new EventSource("/api/v1/events");
        source.addEventListener("message", () => {
          resolve(Date.now());
          source.close();
        });
      });
      window.parleyAlertAt = new Promise((resolve) => {
        const observer = new MutationObserver(() => {
          const alert = document.querySelector(".flash-alert");
          if (alert && alert.textContent.includes(text)) {
            resolve(Date.now());
            observer.disconnect();
          }
        });
        observer.observe(document.body, { childList: true, subtree: true, characterData: true });
      });
    }, words);
    const before = Date.now();
    await us.getByRole("button", { name: "Send" }).click();
    flashId = (await us.locator("[data-sent-id]").getAttribute("data-sent-id")) ?? "";
    const sentAt = Date.now();
    const alert = ru.locator(".flash-alert li").filter({ hasText: words });
    await alert.waitFor();
    const shownAt = Date.now();
    const eventAt = await ru.evaluate(() => window.parleyEventAt);
    const alertAt = await ru.evaluate(() => window.parleyAlertAt);
    console.log(
      `figure: FLASH on us's Send: us answered ${sentAt - before} ms, ru's event ${eventAt - before} ms, ` +
        `ru's alert in the page ${alertAt - before} ms, seen by the test ${shownAt - before} ms`,
    );
  });
  expect("the FLASH shows live in ru's alert", sent && flashId !== "");
  expect("ru's alert is an ARIA alert", (await ru.locator(".flash-alert").getAttribute("role")) === "alert");

  // --- ru acknowledges; us's chip turns to acknowledged ---
  await step("ru acknowledges from the alert; the alert goes", async () => {
    await ru.locator(".flash-alert li").filter({ hasText: words }).getByRole("button").click();
    await ru.locator(".flash-alert li").filter({ hasText: words }).waitFor({ state: "detached" });
    ok("the alert stays until acknowledged, then goes");
  });
  await step("us's chip turns to acknowledged", async () => {
    await us.getByRole("button", { name: "Outbox" }).click();
    await us.locator(`li[data-message-id="${flashId}"] .chip[data-state="acknowledged"]`).waitFor();
    const when = await us.locator(`li[data-message-id="${flashId}"] dd[data-stage="acknowledged"] time`).textContent();
    expect("the acknowledged stage has its time in UTC", /UTC$/.test(when ?? ""), when);
  });

  // --- compose a notification from the generated form ---
  await step("an invalid notification form is refused with its message", async () => {
    await us.getByRole("button", { name: "Compose" }).click();
    await us.getByLabel("Type", { exact: true }).selectOption("notify.exercise");
    await us.getByLabel("Precedence").selectOption("PRIORITY");
    await us.locator("#field-participants").fill("-5");
    await us.getByRole("button", { name: "Send" }).click();
    await us.locator(".form-summary").waitFor();
    const nameError = await us.locator("#field-name-error").textContent();
    expect("the missing required field is marked inline", /required/i.test(nameError ?? ""), nameError);
    const countError = await us.locator("#field-participants-error").textContent();
    expect("the out-of-range number is marked inline", /small/i.test(countError ?? ""), countError);
    expect("the invalid field is aria-invalid", (await us.locator("#field-name").getAttribute("aria-invalid")) === "true");
    expect("nothing was sent", (await us.locator("[data-sent-id]").count()) === 0);
  });
  await step("the gateway's refusal is shown with its reason", async () => {
    await us.locator("#field-name").fill("Console exercise");
    await us.locator("#field-participants").fill("1200");
    await us.locator("#field-area").fill("Baltic Sea");
    // The schema accepts each time; the catalog's rule (end after start) is the gateway's.
    await us.locator("#field-start").fill("2026-12-10T12:00:00Z");
    await us.locator("#field-end").fill("2026-12-09T12:00:00Z");
    await us.getByRole("button", { name: "Send" }).click();
    const refusal = await us.locator(".server-refusal").textContent();
    expect("the 400 reason names the field", /end/.test(refusal ?? ""), refusal);
  });
  await step("a valid notification is sent", async () => {
    await us.locator("#field-end").fill("2026-12-12T12:00:00Z");
    await us.getByRole("button", { name: "Send" }).click();
    const id = await us.locator("[data-sent-id]").getAttribute("data-sent-id");
    await ru.locator(`li[data-message-id="${id}"]`).waitFor();
    ok("the notification reached ru's inbox");
  });

  const ctx = { browser, us, ru, usContext, US_URL, WATCH_TOKEN, AXE, SHOTS, BUNDLES, viewport, flashId, step, ok, bad, expect, watch, signIn };
  mkdirSync(SHOTS, { recursive: true });
  ctx.immediateId = await more.escalation(ctx);
  await more.evidence(ctx);
  await more.meetings(ctx);
  await more.monitoring(ctx);
  await more.keyboard(ctx);
  await more.screenshotsAndAxe(ctx);

  // --- the Russian switch ---
  await step("the interface switches to Russian", async () => {
    await us.getByRole("button", { name: "Русский" }).click();
    await us.getByRole("button", { name: "Входящие" }).waitFor();
    await us.getByRole("button", { name: "English" }).click();
    await us.getByRole("button", { name: "Inbox" }).waitFor();
    ok("English and Russian words");
  });

  // --- CSRF and the cookie ---
  await step("CSRF and cookie rules", async () => {
    const forged = await ru.evaluate(async (id) => {
      const r = await fetch(`/api/v1/messages/${id}/ack`, { method: "POST" });
      return { status: r.status, body: await r.text() };
    }, flashId);
    expect("a POST with the cookie but no CSRF header is refused (403)", forged.status === 403, JSON.stringify(forged));
    const anonymous = await fetch(`${US_URL}/api/v1/messages?box=inbox`);
    const reason = await anonymous.json().catch(() => ({}));
    expect("a request without the session cookie is refused (401)", anonymous.status === 401 && typeof reason.error === "string", `${anonymous.status} ${JSON.stringify(reason)}`);
  });

  // --- sign-out ends the session on the server ---
  await step("sign-out", async () => {
    const cookie = await cookieOf(usContext);
    const withCookie = () => fetch(`${US_URL}/api/v1/messages?box=outbox`, { headers: { Cookie: `parley_session=${cookie.value}` } });
    expect("the cookie works before sign-out", (await withCookie()).status === 200);
    await us.getByRole("button", { name: "Sign out" }).click();
    await us.getByLabel(/API token/).waitFor();
    expect("sign-out removes the cookie from the browser", (await cookieOf(usContext)) === undefined);
    const after = await withCookie();
    expect("the old cookie is refused after sign-out (401)", after.status === 401, String(after.status));
  });

  // --- ru's gateway restarts under its console ---
  await step("a gateway restart", async () => {
    process.kill(Number(env("RU_PID")), "SIGTERM");
    await ru.locator('[data-live="disconnected"]').waitFor();
    ok("the page says it is disconnected");
    // The API closes first; the process drains and exits after it, holding its home's lock
    // until then: a gateway started before that refuses the home (in use).
    expect("ru's gateway exits within 20 s of SIGTERM", await exited(Number(env("RU_PID")), 20_000));
    restarted = spawn(env("PARLEY"), ["gateway", "--home", env("RU_HOME")], {
      stdio: ["ignore", "ignore", openSync(env("RU_LOG"), "a")],
    });
    // The page retries by itself; the restarted gateway knows no session (memory only).
    await ru.locator("main.sign-in .notice").waitFor({ timeout: 30_000 });
    ok("after the restart the page asks to sign in again, saying why");
    await signIn(ru, RU_URL, RU_TOKEN, "cgs");
    ok("signing in again works and the feed is live");
  });

  expect("no Content-Security-Policy violation or script error", problems.length === 0, problems.join("; "));
} finally {
  await browser.close();
  restarted?.kill("SIGTERM");
}
console.log(`console.test.mjs: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
