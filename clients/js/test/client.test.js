// These tests run against a live synclayer server: SYNCLAYER_URL, an admin
// key in SYNCLAYER_API_KEY and a viewer key in SYNCLAYER_VIEWER_KEY. They
// change customer-sync's config and put its old config back at the end, so
// point them at a test server only. cmd/synclayer's TestClients starts one
// and runs them.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { Synclayer, SynclayerError } from "synclayer";

const { SYNCLAYER_URL: url, SYNCLAYER_API_KEY: adminKey, SYNCLAYER_VIEWER_KEY: viewerKey } = process.env;
const skip = url && adminKey ? false : "set SYNCLAYER_URL and SYNCLAYER_API_KEY (an admin key) to run against a server";
const run = Math.random().toString(36).slice(2, 10);
const name = "customer-sync";

// wantError checks that promise rejects with a SynclayerError of status
// and code, naming field (null for none), that does not show key.
async function wantError(promise, { status, code, field = null, key = adminKey }) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof SynclayerError, `want a SynclayerError, got ${inspect(err)}`);
    assert.deepEqual({ status: err.status, code: err.code, field: err.field }, { status, code, field }, `error ${err}`);
    assert.ok(err.message.length > 0, "the error has the server's message");
    for (const shown of [err.message, String(err), inspect(err), JSON.stringify(err)]) {
      assert.ok(!shown.includes(key), `the error shows the API key: ${shown}`);
    }
    return true;
  });
}

// eventually retries fn until it returns a truthy value, for deliveries the
// server's worker makes after the trigger has answered.
async function eventually(fn, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = await fn();
    if (got || Date.now() > deadline) return got;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("Synclayer against a server", { skip }, () => {
  let synclayer, original, source;

  before(async () => {
    synclayer = new Synclayer({ baseUrl: url, apiKey: adminKey });
    original = (await synclayer.skills.list()).find((s) => s.name === name);
    assert.ok(original, `the server lists no ${name}`);
    source = original.config.source ?? "shopify";
  });

  after(async () => {
    if (original?.enabled) await synclayer.skills.enable(name, original.config);
    else if (original) await synclayer.skills.disable(name);
  });

  test("enable with a mapping, then list shows it", async () => {
    const config = { source, field_mapping: { email: "email", firstName: "FIRSTNAME", lastName: "LASTNAME" }, options: { list_id: 5 } };
    const sk = await synclayer.skills.enable(name, config);
    assert.equal(sk.name, name);
    assert.equal(sk.enabled, true);
    assert.equal(sk.editable, true);
    assert.ok(Number.isInteger(sk.version) && sk.version > 0, `version ${sk.version}`);
    assert.deepEqual(sk.config.field_mapping, config.field_mapping);
    assert.equal(sk.config.options.list_id, 5);

    const listed = (await synclayer.skills.list()).find((s) => s.name === name);
    assert.equal(listed.enabled, true);
    assert.deepEqual(listed.config.field_mapping, config.field_mapping);
    assert.equal(listed.config.options.list_id, 5);
    assert.deepEqual(listed.sources, [source].flat());
  });

  test("trigger stores the contact, which is then found, traced and delivered", async () => {
    const email = `ada-${run}@example.com`;
    const res = await synclayer.skills.trigger(name, {
      event: "customer_created",
      data: { id: `js-${run}`, email: `Ada-${run}@Example.com`, firstName: "Ada", lastName: "Lovelace" },
    });
    assert.equal(res.status, "applied", `trigger answered ${JSON.stringify(res)}`);
    assert.ok(res.id, "the stored event's ID");
    assert.match(res.contactId, /^ct_/);

    const contact = await synclayer.contacts.get(res.contactId);
    assert.equal(contact.id, res.contactId);
    assert.equal(contact.email, email, "the email is normalized");
    assert.equal(contact.sourceIds.manual, `js-${run}`);
    assert.equal(contact.fields.firstName.v, "Ada");
    assert.equal(contact.fields.firstName.src, "manual");

    const found = await synclayer.contacts.list({ email });
    assert.deepEqual(found.map((c) => c.id), [res.contactId]);
    assert.deepEqual(await synclayer.contacts.list({ email: `nobody-${run}@example.com` }), []);

    const trace = await eventually(async () => {
      const t = await synclayer.contacts.trace(res.contactId);
      return t.at(-1)?.kind === "delivery" && t;
    });
    assert.ok(trace, "the delivery to the destination was never traced");
    assert.equal(trace[0].kind, "event");
    assert.equal(trace[0].eventId, res.id);

    const again = await synclayer.skills.trigger(name, { event: "customer_updated", data: { id: `js-${run}`, email, firstName: "Ada" } });
    assert.equal(again.contactId, res.contactId, "the same customer is the same contact");
  });

  test("an invalid config is refused naming the field, and changes nothing", async () => {
    const before = (await synclayer.skills.list()).find((s) => s.name === name);
    await wantError(synclayer.skills.enable(name, { source, field_mapping: { email: "email" }, options: { list_id: -1 } }), {
      status: 400, code: "invalid", field: "options.list_id",
    });
    await wantError(synclayer.skills.enable(name, { source, field_mapping: { firstName: "FIRSTNAME" } }), {
      status: 400, code: "invalid", field: "field_mapping",
    });
    await wantError(synclayer.skills.enable(name, { source, options: { list_idd: 5 } }), {
      status: 400, code: "invalid", field: "options.list_idd",
    });
    const after = (await synclayer.skills.list()).find((s) => s.name === name);
    assert.deepEqual(after, before);
  });

  test("an invalid trigger is refused naming the field", async () => {
    await wantError(synclayer.skills.trigger(name, { data: { email: `x-${run}@example.com` } }), { status: 400, code: "invalid", field: "event" });
    await wantError(synclayer.skills.trigger(name, { event: "customer_created", data: { firstName: "Nobody" } }), {
      status: 400, code: "invalid", field: "data.id",
    });
    await wantError(synclayer.skills.trigger(name, { event: "customer_created", data: {}, extra: 1 }), { status: 400, code: "invalid", field: "extra" });
    await wantError(synclayer.skills.trigger("no-such-skill", { event: "customer_created", data: { email: "x@example.com" } }), {
      status: 404, code: "not_found",
    });
  });

  test("a disabled skill refuses triggers until enabled with its listed config", async () => {
    const off = await synclayer.skills.disable(name);
    assert.equal(off.enabled, false);
    assert.deepEqual(off.sources, []);
    await wantError(synclayer.skills.trigger(name, { event: "customer_created", data: { email: `off-${run}@example.com` } }), {
      status: 409, code: "conflict",
    });
    const on = await synclayer.skills.enable(name, off.config);
    assert.equal(on.enabled, true);
    assert.ok(on.version > off.version, `version ${on.version} after ${off.version}`);
  });

  test("contacts, jobs, the DLQ and stats", async () => {
    await wantError(synclayer.contacts.get(`ct_missing_${run}`), { status: 404, code: "not_found" });
    await wantError(synclayer.contacts.trace(`ct_missing_${run}`), { status: 404, code: "not_found" });
    await wantError(synclayer.jobs.list({ state: "sleeping" }), { status: 400, code: "invalid", field: "state" });

    // The server's DLQ may hold others' jobs: this retries one and
    // discards another only when there are two.
    const dead = await synclayer.dlq.list();
    assert.ok(Array.isArray(dead));
    if (dead.length >= 2) {
      const [retried, discarded] = dead;
      assert.ok(retried.lastError, "a dead job says why it gave up");
      assert.deepEqual(await synclayer.dlq.retry(retried.id), { id: retried.id, status: "requeued" });
      await wantError(synclayer.dlq.retry(retried.id), { status: 404, code: "not_found" });
      assert.equal(await synclayer.dlq.delete(discarded.id), undefined);
      await wantError(synclayer.dlq.delete(discarded.id), { status: 404, code: "not_found" });
      const left = (await synclayer.dlq.list()).map((j) => j.id);
      assert.ok(!left.includes(retried.id) && !left.includes(discarded.id), `still dead: ${left}`);
      const pending = await synclayer.jobs.list({ state: "pending", skill: retried.skill });
      assert.ok(pending.some((j) => j.id === retried.id), "the retried job is pending");
    }

    const stats = await synclayer.stats({ window: "24h" });
    assert.equal(stats.window, "24h");
    assert.ok(stats.skills.some((s) => s.skill === name), `stats lists no ${name}`);
    await wantError(synclayer.stats({ window: "2h" }), { status: 400, code: "invalid", field: "window" });
  });

  test("a viewer key reads but cannot enable", { skip: viewerKey ? false : "set SYNCLAYER_VIEWER_KEY" }, async () => {
    const viewer = new Synclayer({ baseUrl: url, apiKey: viewerKey });
    assert.ok((await viewer.skills.list()).some((s) => s.name === name));
    await wantError(viewer.skills.enable(name, { source }), { status: 403, code: "forbidden", key: viewerKey });
    await wantError(viewer.skills.trigger(name, { event: "customer_created", data: { email: `v-${run}@example.com` } }), {
      status: 403, code: "forbidden", key: viewerKey,
    });
  });

  test("a wrong key is 401", async () => {
    const key = `sl_wrong${run}`;
    const wrong = new Synclayer({ baseUrl: url, apiKey: key });
    await wantError(wrong.skills.list(), { status: 401, code: "unauthorized", key });
    await wantError(wrong.dlq.list(), { status: 401, code: "unauthorized", key });
  });
});
