// The console's later views in a real browser (issue 19, second part), run by
// console.test.mjs after its sign-in, FLASH and compose checks, with its pages and helpers
// (`ctx`): escalation progress, evidence and "verify here", meetings, path health and
// witnesses, keyboard use, axe-core and the screenshots. Every wait has a deadline.

import { readFileSync } from "node:fs";

const WAIT_MS = 10_000;

// The message whose words are `words` in a box, once it is listed.
async function messageId(page, view, words) {
  await page.locator(`[data-view="${view}"]`).click();
  const item = page.locator("li.message").filter({ hasText: words });
  await item.waitFor({ timeout: WAIT_MS });
  return item.getAttribute("data-message-id");
}

// --- escalation progress ---
export async function escalation({ us, ru, step, expect, ok }) {
  const words = `Console IMMEDIATE ${Date.now()}`;
  let id = "";
  await step("an IMMEDIATE left unacknowledged escalates", async () => {
    await us.locator('[data-view="compose"]').click();
    await us.getByLabel("Precedence").selectOption("IMMEDIATE");
    await us.getByLabel("Type", { exact: true }).selectOption("text");
    await us.getByLabel("Free text").fill(words);
    await us.getByRole("button", { name: "Send" }).click();
    id = (await us.locator("[data-sent-id]").getAttribute("data-sent-id")) ?? "";
    await messageId(ru, "inbox", words);
    // The deadline is 3 s; the gateway alerts the addressee at once and says who is next.
    const progress = ru.locator(`li[data-message-id="${id}"] [data-escalation]`);
    await progress.locator('[data-alerted="cgs"]').waitFor({ timeout: 15_000 });
    ok("ru's inbox shows that cgs was alerted, and when");
    const next = await progress.locator("[data-next-alert]").getAttribute("data-next-alert");
    expect("ru's inbox names the next to alert: the alternate deputy", next === "deputy", `next: ${next}`);
    await ru.locator(`li[data-message-id="${id}"] .chip[data-state="overdue"]`).waitFor({ timeout: WAIT_MS });
    ok("the message is overdue on ru");
    await us.locator('[data-view="outbox"]').click();
    await us.locator(`li[data-message-id="${id}"] [data-escalation] [data-alerted="saceur"]`).waitFor({ timeout: 15_000 });
    ok("us's outbox shows that the sender saceur was told");
  });
  return id;
}

// --- evidence and "verify here" ---

async function openEvidence(page, view, id) {
  await page.locator(`[data-view="${view}"]`).click();
  await page.locator(`li[data-message-id="${id}"] button.evidence-open`).click();
  await page.locator(`[data-evidence="${id}"]`).waitFor({ timeout: WAIT_MS });
}

// Runs "verify here" on the open evidence: the verdict and each check's result.
async function verifyHere(page) {
  const shown = page.locator("[data-verdict]");
  const before = (await shown.count()) > 0 ? Number(await shown.getAttribute("data-run")) : 0;
  await page.locator("button.verify").click();
  const verdict = page.locator(`[data-verdict][data-run="${before + 1}"]`);
  await verdict.waitFor({ timeout: WAIT_MS });
  const checks = await page
    .locator("[data-check]")
    .evaluateAll((els) => Object.fromEntries(els.map((e) => [e.dataset.check, e.dataset.ok === "true" ? "ok" : e.textContent])));
  return { verdict: await verdict.getAttribute("data-verdict"), checks };
}

// Another letter of the base64 or hex text at `at` (still well-formed, different bytes).
function flip(text, at, alphabet) {
  const c = text[at];
  const other = alphabet[(alphabet.indexOf(c) + 1) % alphabet.length];
  return text.slice(0, at) + other + text.slice(at + 1);
}
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const HEX = "0123456789abcdef";

// Verifies `id`'s evidence with the gateway's answer altered by `alter` on its way to the page.
async function verifyAltered(page, id, alter) {
  const handler = async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    alter(body);
    await route.fulfill({ response, json: body });
  };
  await page.route(/\/evidence$/, handler);
  try {
    await openEvidence(page, "outbox", id);
    return await verifyHere(page);
  } finally {
    await page.unroute(/\/evidence$/, handler);
  }
}

export async function evidence({ us, ru, flashId, immediateId, BUNDLES, step, expect }) {
  const all = ["envelope", "leaf", "inclusion", "countersignature", "sth", "listed"];
  await step("verify here: a later message, whose proof has an audit path", async () => {
    await openEvidence(us, "outbox", immediateId);
    const hashes = await us.locator('[aria-label="Audit path"] li').count();
    const { verdict, checks } = await verifyHere(us);
    expect(
      `us: every check passes for a proof of ${hashes} hashes`,
      hashes > 0 && verdict === "pass" && all.every((c) => checks[c] === "ok"),
      JSON.stringify(checks),
    );
  });
  await step("verify here: the FLASH's evidence on us (our message)", async () => {
    await openEvidence(us, "outbox", flashId);
    const { verdict, checks } = await verifyHere(us);
    expect("us: every check passes in the browser", verdict === "pass" && all.every((c) => checks[c] === "ok"), JSON.stringify(checks));
  });
  await step("verify here with the bundles exchanged out of band", async () => {
    const bundle = (name) => JSON.parse(readFileSync(`${BUNDLES}/${name}.json`, "utf8"));
    await us.locator("#evidence-bundles").fill(JSON.stringify([bundle("us"), bundle("ru")]));
    let r = await verifyHere(us);
    expect("with both parties' own bundles: every check passes", r.verdict === "pass", JSON.stringify(r.checks));
    const impostor = { ...bundle("ru"), sign_key: bundle("nato").sign_key };
    await us.locator("#evidence-bundles").fill(JSON.stringify([bundle("us"), impostor]));
    r = await verifyHere(us);
    expect(
      "with another key pasted for ru-genstaff: the countersignature fails",
      r.verdict === "fail" && r.checks.countersignature !== "ok" && r.checks.envelope === "ok",
      JSON.stringify(r.checks),
    );
  });
  await step("verify here: the FLASH's evidence on ru (the peer's message)", async () => {
    await openEvidence(ru, "inbox", flashId);
    const { verdict, checks } = await verifyHere(ru);
    expect("ru: every check passes in the browser", verdict === "pass" && all.every((c) => checks[c] === "ok"), JSON.stringify(checks));
  });
  await step("verify here fails on altered evidence", async () => {
    let r = await verifyAltered(us, flashId, (e) => {
      e.envelope.payload = flip(e.envelope.payload, 20, B64);
    });
    expect(
      "a byte of the envelope changed: the signature and the proof fail",
      r.verdict === "fail" && r.checks.envelope !== "ok" && r.checks.inclusion !== "ok",
      JSON.stringify(r.checks),
    );
    r = await verifyAltered(us, flashId, (e) => {
      if (e.proof.path.length > 0) e.proof.path[0] = flip(e.proof.path[0], 5, HEX);
      else e.proof.root = flip(e.proof.root, 5, HEX);
    });
    expect(
      "a hash of the inclusion proof changed: the proof fails, the envelope still verifies",
      r.verdict === "fail" && r.checks.inclusion !== "ok" && r.checks.envelope === "ok",
      JSON.stringify(r.checks),
    );
    r = await verifyAltered(us, flashId, (e) => {
      e.countersignature.sig = flip(e.countersignature.sig, 10, B64);
    });
    expect(
      "the countersignature changed: it fails, the envelope and the proof still verify",
      r.verdict === "fail" && r.checks.countersignature !== "ok" && r.checks.inclusion === "ok" && r.checks.envelope === "ok",
      JSON.stringify(r.checks),
    );
    r = await verifyAltered(us, flashId, (e) => {
      const [party] = Object.keys(e.keys).filter((p) => p !== e.log.owner);
      e.keys[party] = e.keys[e.log.owner];
    });
    expect(
      "the peer's key replaced: the countersignature fails",
      r.verdict === "fail" && r.checks.countersignature !== "ok",
      JSON.stringify(r.checks),
    );
  });
}

// --- meetings ---
export async function meetings({ us, ru, step, expect, ok }) {
  const title = `Console staff talks ${Date.now()}`;
  let id = "";
  const item = (page) => page.locator(`li[data-meeting-id="${id}"]`);
  await step("us proposes a meeting", async () => {
    await us.locator('[data-view="meetings"]').click();
    await us.locator("#meeting-title").fill(title);
    await us.locator("#meeting-slots").fill("2026-12-10T09:00Z\n2026-12-11T09:00Z");
    await us.locator("#meeting-agenda").fill("exercises\nincidents at sea");
    await us.getByRole("button", { name: "Propose", exact: true }).click();
    const listed = us.locator("li.meeting").filter({ hasText: title });
    await listed.waitFor({ timeout: WAIT_MS });
    id = (await listed.getAttribute("data-meeting-id")) ?? "";
    expect("the proposal is listed as proposed", (await listed.getAttribute("data-meeting-state")) === "proposed");
  });
  await step("ru accepts a slot", async () => {
    await ru.locator('[data-view="meetings"]').click();
    await item(ru).waitFor({ timeout: WAIT_MS });
    await item(ru).locator("button.accept").first().click();
    await ru.locator(`li[data-meeting-id="${id}"][data-meeting-state="scheduled"]`).waitFor({ timeout: WAIT_MS });
    await us.locator(`li[data-meeting-id="${id}"][data-meeting-state="scheduled"]`).waitFor({ timeout: WAIT_MS });
    ok("both sides show the meeting scheduled");
  });
  let hash = "";
  await step("us records the minutes with an action item and signs them", async () => {
    const prefix = `#minutes-${id}`;
    await us.locator(`${prefix}-held`).fill("2026-12-10T09:00Z");
    await us.locator(`${prefix}-attendees`).fill("us-eucom/saceur\nru-genstaff/cgs");
    await us.locator(`${prefix}-notes-0`).fill("both sides restated the notification thresholds");
    await us.locator(`${prefix}-action`).fill("send the exercise calendar");
    await us.locator(`${prefix}-owner`).fill("ru-genstaff/cgs");
    await us.locator(`${prefix}-due`).fill("2026-12-20T00:00Z");
    await item(us).locator(".minutes-form button[type=submit]").click();
    await item(us).locator('[data-hash-check="match"]').waitFor({ timeout: WAIT_MS });
    hash = (await item(us).locator("[data-minutes-hash]").textContent()) ?? "";
    const due = await item(us).locator('tr[data-action="a1"] time').textContent();
    expect("the action item is listed with its due date", /^2026-12-20 00:00:00 UTC$/.test(due ?? ""), due);
    await item(us).locator("button.sign").click();
    await item(us).locator("[data-signed-by]").filter({ hasText: "us-eucom" }).waitFor({ timeout: WAIT_MS });
  });
  await step("ru sees the same minutes hash, computes it too, and signs: final on both sides", async () => {
    await item(ru).locator("[data-signed-by]").filter({ hasText: "us-eucom" }).waitFor({ timeout: WAIT_MS });
    const theirs = await item(ru).locator("[data-minutes-hash]").textContent();
    expect("ru shows the hash us signed", theirs === hash && /^[0-9a-f]{64}$/.test(hash), `${theirs} vs ${hash}`);
    expect("ru's page computed the same hash from the minutes shown", (await item(ru).locator('[data-hash-check="match"]').count()) === 1);
    // The meeting's item is drawn again when an event arrives (here the acks of us's minutes
    // and signature, within milliseconds): a click that lands on the item being replaced is
    // lost, and nothing is sent (seen once in CI: ru's gateway never got a meeting.sign). So
    // the click is repeated, at most three times, until ru's own signature shows; a second
    // signature of the same hash is refused by the gateway, never counted twice.
    for (let attempt = 0; attempt < 3; attempt++) {
      await item(ru).locator("button.sign").click();
      const signed = item(ru).locator("[data-signed-by]").filter({ hasText: "ru-genstaff" });
      if (await signed.waitFor({ timeout: 3_000 }).then(() => true, () => false)) break;
    }
    await item(ru).locator("[data-final]").waitFor({ timeout: WAIT_MS });
    await item(us).locator("[data-final]").waitFor({ timeout: WAIT_MS });
    ok("the minutes are final on both sides: both parties signed the same hash");
  });
}

// --- path health and witnesses (the watch officer), reachability (a commander) ---
export async function monitoring(ctx) {
  const { browser, us, US_URL, WATCH_TOKEN, AXE, viewport, step, expect, ok, signIn } = ctx;
  await step("a commander sees whether its line's peer is reachable", async () => {
    await us.locator('[data-view="status"]').click();
    await us.locator('[data-line-reach="saceur-cgs"] .chip.path-up').waitFor({ timeout: WAIT_MS });
    ok("saceur's status view: the line's peer is reachable");
  });
  const context = await browser.newContext({ viewport });
  await context.addInitScript({ path: AXE });
  const page = await context.newPage();
  ctx.watch(page, "watch");
  ctx.watchPage = page;
  await step("the watch officer's path health and witnesses", async () => {
    await signIn(page, US_URL, WATCH_TOKEN, "watch-1");
    await page.locator('[data-view="status"]').click();
    const path = page.locator('[data-peer="ru-genstaff"] tr[data-path-state="up"]').first();
    await path.waitFor({ timeout: WAIT_MS });
    const heartbeat = await path.locator("[data-heartbeat]").textContent();
    expect("the path to ru-genstaff is up, with its last signed heartbeat's time", /UTC/.test(heartbeat ?? ""), heartbeat);
    const backlog = await page.locator('[data-peer="ru-genstaff"] [data-backlog]').textContent();
    expect("the backlog to ru-genstaff is shown", /^\d+$/.test(backlog ?? ""), backlog);
    const cosigned = page.locator('[data-cosignature="parley.example/nato-shape"]').first();
    await cosigned.waitFor({ timeout: 20_000 });
    const size = Number(await cosigned.locator("[data-size]").textContent());
    expect("nato-shape cosigned our log up to a size > 0", size > 0, String(size));
    expect("no split view", (await page.locator("[data-split-view-none]").count()) === 1);
    expect("the escalations of the whole gateway are listed", (await page.locator("[data-escalation-row]").count()) >= 1);
  });
}

// --- keyboard ---
export async function keyboard({ us, step, expect }) {
  await step("the views are reached with the keyboard", async () => {
    await us.locator('[data-view="inbox"]').focus();
    let reached = false;
    for (let i = 0; i < 10 && !reached; i++) {
      await us.keyboard.press("Tab");
      reached = await us.evaluate(() => document.activeElement?.getAttribute("data-view") === "meetings");
    }
    expect("Tab reaches the Meetings button", reached);
    await us.keyboard.press("Enter");
    await us.locator('[data-view="meetings"][aria-current="page"]').waitFor({ timeout: WAIT_MS });
    await us.locator("#meeting-title").focus();
    expect("the proposal form's fields take focus", await us.evaluate(() => document.activeElement?.id === "meeting-title"));
  });
}

// axe-core's serious and critical violations on the page as it is now.
async function axe(page) {
  return page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
  });
}

// --- every view in both languages: axe-core, then a screenshot ---
export async function screenshotsAndAxe(ctx) {
  const { browser, us, watchPage, flashId, US_URL, AXE, SHOTS, viewport, step, expect } = ctx;
  const ready = {
    inbox: "li.message",
    outbox: "li.message",
    compose: "form.compose",
    meetings: "li.meeting",
    status: ".monitor",
  };
  for (const lang of ["en", "ru"]) {
    const name = lang === "en" ? "English" : "Русский";
    for (const page of [us, watchPage].filter(Boolean)) {
      await page.getByRole("button", { name, exact: true }).click();
      await page.locator(`html[lang="${lang}"]`).waitFor({ timeout: WAIT_MS });
    }
    const shots = [
      ...["inbox", "outbox", "compose", "meetings"].map((v) => [v, us]),
      ["status", watchPage ?? us],
    ];
    for (const [view, page] of shots) {
      await step(`${view} (${lang}): axe and a screenshot`, async () => {
        await page.locator(`[data-view="${view}"]`).click();
        await page.locator(ready[view]).first().waitFor({ timeout: WAIT_MS });
        const found = await axe(page);
        expect(`axe: no serious or critical violation on ${view} (${lang})`, found.length === 0, found.join("; "));
        await page.screenshot({ path: `${SHOTS}/${view}-${lang}.png` });
      });
    }
    await step(`evidence (${lang}): axe and a screenshot`, async () => {
      await openEvidence(us, "outbox", flashId);
      await verifyHere(us);
      const found = await axe(us);
      expect(`axe: no serious or critical violation on evidence (${lang})`, found.length === 0, found.join("; "));
      await us.screenshot({ path: `${SHOTS}/evidence-${lang}.png` });
    });
    await step(`sign-in (${lang}): axe and a screenshot`, async () => {
      const context = await browser.newContext({ viewport });
      await context.addInitScript({ path: AXE });
      try {
        const page = await context.newPage();
        ctx.watch(page, `sign-in ${lang}`);
        await page.goto(`${US_URL}/console/`);
        await page.getByRole("button", { name, exact: true }).click();
        await page.locator(`html[lang="${lang}"] main.sign-in`).waitFor({ timeout: WAIT_MS });
        const found = await axe(page);
        expect(`axe: no serious or critical violation on sign-in (${lang})`, found.length === 0, found.join("; "));
        await page.screenshot({ path: `${SHOTS}/sign-in-${lang}.png` });
      } finally {
        await context.close();
      }
    });
  }
  // Back to English for the checks that follow.
  for (const page of [us, watchPage].filter(Boolean)) {
    await page.getByRole("button", { name: "English", exact: true }).click();
  }
}
