// These tests need no synclayer: each starts a local HTTP server that
// answers what a server, a proxy or a dead network would.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { inspect } from "node:util";
import { Synclayer, SynclayerError } from "synclayer";

const key = "sl_TESTKEY0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCD";

// serve starts a server running handler, records each request with its
// body, and closes it when the test ends.
async function serve(t, handler) {
  const requests = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${server.address().port}`, requests };
}

function json(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(body === undefined ? "" : JSON.stringify(body));
}

async function caught(promise) {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof SynclayerError, `want a SynclayerError, got ${inspect(err)}`);
    return err;
  }
  assert.fail("the call did not throw");
}

test("requests carry the key, JSON and the escaped path", async (t) => {
  const srv = await serve(t, (req, res) => json(res, req.method === "DELETE" ? 204 : 200, { skills: [], contacts: [], id: 1 }));
  const synclayer = new Synclayer({ baseUrl: `${srv.url}/prefix/`, apiKey: key });

  await synclayer.skills.enable("a b/c", { source: "shopify" });
  await synclayer.contacts.list({ email: "a+b@example.com", phone: undefined, limit: 5 });
  assert.equal(await synclayer.dlq.delete(7), undefined);

  const [put, list, del] = srv.requests;
  assert.equal(put.method, "PUT");
  assert.equal(put.url, "/prefix/api/v1/skills/a%20b%2Fc");
  assert.equal(put.headers.authorization, `Bearer ${key}`);
  assert.equal(put.headers["content-type"], "application/json");
  assert.deepEqual(JSON.parse(put.body), { source: "shopify" });
  assert.equal(list.url, "/prefix/api/v1/contacts?email=a%2Bb%40example.com&limit=5");
  assert.equal(list.headers["content-type"], undefined, "a GET sends no body");
  assert.equal(del.method, "DELETE");
  assert.equal(del.url, "/prefix/api/v1/dlq/7");
});

test("the key comes from SYNCLAYER_API_KEY when not given, and is required", async (t) => {
  const srv = await serve(t, (req, res) => json(res, 200, { skills: [] }));
  const saved = process.env.SYNCLAYER_API_KEY;
  t.after(() => {
    if (saved === undefined) delete process.env.SYNCLAYER_API_KEY;
    else process.env.SYNCLAYER_API_KEY = saved;
  });

  process.env.SYNCLAYER_API_KEY = key;
  const synclayer = new Synclayer({ baseUrl: srv.url });
  assert.deepEqual(await synclayer.skills.list(), []);
  assert.equal(srv.requests[0].headers.authorization, `Bearer ${key}`);
  assert.ok(!inspect(synclayer, { depth: 5, showHidden: true }).includes(key), "inspecting the client shows the key");

  delete process.env.SYNCLAYER_API_KEY;
  assert.throws(() => new Synclayer({ baseUrl: srv.url }), { name: "TypeError", message: /SYNCLAYER_API_KEY/ });
  assert.throws(() => new Synclayer({ baseUrl: srv.url, apiKey: key, timeout: -1 }), TypeError);
});

test("an error body becomes the error's status, code, message and field", async (t) => {
  const srv = await serve(t, (req, res) => json(res, 400, { error: { code: "invalid", message: "must be 0 or more", field: "options.list_id" } }));
  const err = await caught(new Synclayer({ baseUrl: srv.url, apiKey: key }).skills.enable("customer-sync", {}));
  assert.equal(err.name, "SynclayerError");
  assert.equal(err.status, 400);
  assert.equal(err.code, "invalid");
  assert.equal(err.message, "must be 0 or more");
  assert.equal(err.field, "options.list_id");
  assert.equal(String(err), "SynclayerError: 400 invalid: options.list_id: must be 0 or more");
});

test("an answer of another shape keeps its status, and never shows the key", async (t) => {
  // A proxy that echoes the request, key included, in a text error page.
  const srv = await serve(t, (req, res) => {
    res.writeHead(502, { "content-type": "text/plain" });
    res.end(`bad gateway for ${req.headers.authorization}`);
  });
  const err = await caught(new Synclayer({ baseUrl: srv.url, apiKey: key }).stats());
  assert.equal(err.status, 502);
  assert.equal(err.code, "http_502");
  assert.equal(err.field, null);
  assert.equal(err.message, "bad gateway for Bearer [REDACTED]");
  assert.ok(!inspect(err).includes(key));
});

test("a slow server is a timeout error", async (t) => {
  const srv = await serve(t, () => {}); // never answers
  const started = Date.now();
  const err = await caught(new Synclayer({ baseUrl: srv.url, apiKey: key, timeout: 200 }).skills.list());
  assert.equal(err.status, 0);
  assert.equal(err.code, "timeout");
  assert.match(err.message, /GET \/api\/v1\/skills: no answer within 200 ms/);
  assert.ok(Date.now() - started < 5_000, "the timeout did not cut the request short");
});

test("no server is a network error", async () => {
  const closed = createServer();
  await new Promise((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const port = closed.address().port;
  await new Promise((resolve) => closed.close(resolve));
  const err = await caught(new Synclayer({ baseUrl: `http://127.0.0.1:${port}`, apiKey: key }).dlq.list());
  assert.equal(err.status, 0);
  assert.equal(err.code, "network");
  assert.match(err.message, /^GET \/api\/v1\/dlq: /);
  assert.ok(err.cause, "the network error is the cause");
});

test("a redirect is not followed, so the key stays with the server", async (t) => {
  const elsewhere = await serve(t, (req, res) => json(res, 200, { skills: [] }));
  const srv = await serve(t, (req, res) => {
    res.writeHead(307, { location: `${elsewhere.url}${req.url}` });
    res.end();
  });
  const err = await caught(new Synclayer({ baseUrl: srv.url, apiKey: key }).skills.list());
  assert.equal(err.status, 307);
  assert.equal(err.code, "http_307");
  assert.equal(elsewhere.requests.length, 0, "the request followed the redirect");
});
