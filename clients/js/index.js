// Client for synclayer's admin API, the routes under /api/v1 described by
// api/openapi.yaml. It mirrors the Go client (adminclient): every answer
// other than 2xx, and every request that got no answer, is thrown as a
// SynclayerError. Node 20 or later; no dependencies (global fetch).

const DEFAULT_BASE_URL = "http://127.0.0.1:8080";
const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * SynclayerError is what every call throws. For an answer from the server,
 * status is its HTTP status and code, message and field come from its
 * {"error": {"code", "message", "field"}} body: code is "invalid",
 * "unauthorized", "forbidden", "not_found", "conflict", "too_large" or
 * "internal", and field names the input at fault ("options.list_id"), or is
 * null. A body of another shape (a proxy's error page) gives code
 * "http_<status>". With no answer at all, status is 0 and code is "timeout"
 * or "network". The API key never appears in it.
 */
export class SynclayerError extends Error {
  constructor({ status, code, message, field = null, cause }) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "SynclayerError";
    this.status = status;
    this.code = code;
    this.field = field || null;
  }

  toString() {
    const msg = this.field ? `${this.field}: ${this.message}` : this.message;
    return `${this.name}: ${this.status} ${this.code}: ${msg}`;
  }
}

/**
 * Synclayer calls one synclayer server with one API key.
 *
 *   const synclayer = new Synclayer({ baseUrl: "http://127.0.0.1:8080" });
 *   await synclayer.skills.trigger("customer-sync", { event: "customer_created", data: { email: "ada@example.com" } });
 */
export class Synclayer {
  #baseUrl;
  #apiKey;
  #timeout;

  /**
   * @param {object} [options]
   * @param {string} [options.baseUrl] default SYNCLAYER_URL, else http://127.0.0.1:8080
   * @param {string} [options.apiKey] default SYNCLAYER_API_KEY; one of them is required
   * @param {number} [options.timeout] milliseconds per request, default 30000
   */
  constructor({ baseUrl, apiKey, timeout = DEFAULT_TIMEOUT_MS } = {}) {
    const env = globalThis.process?.env ?? {};
    apiKey = apiKey ?? env.SYNCLAYER_API_KEY;
    if (!apiKey) {
      throw new TypeError("synclayer: no API key: pass apiKey or set SYNCLAYER_API_KEY; create one with synclayer keys create --role viewer|operator|admin");
    }
    if (!(Number.isFinite(timeout) && timeout > 0)) {
      throw new TypeError(`synclayer: timeout must be a positive number of milliseconds, not ${timeout}`);
    }
    this.#baseUrl = String(baseUrl ?? env.SYNCLAYER_URL ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
    this.#apiKey = apiKey;
    this.#timeout = timeout;
    const request = (method, path, options) => this.#request(method, path, options);
    this.skills = new Skills(request);
    this.contacts = new Contacts(request);
    this.jobs = new Jobs(request);
    this.dlq = new DLQ(request);
  }

  /**
   * stats returns each skill's delivery figures over window ("15m", "1h",
   * "24h" or "7d"; default 1h) and its queue now (viewer).
   */
  stats({ window } = {}) {
    return this.#request("GET", "/api/v1/stats", { query: { window } });
  }

  // #request sends body as JSON (when not undefined) and returns the decoded
  // 2xx answer, undefined for an empty one. Redirects are not followed, so
  // the key is never sent to another address.
  async #request(method, path, { query, body } = {}) {
    const url = new URL(this.#baseUrl + path);
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, String(value));
    }
    const headers = { authorization: `Bearer ${this.#apiKey}`, accept: "application/json" };
    let payload;
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      payload = JSON.stringify(body);
    }
    const where = `${method} ${path}`;
    let res, text;
    try {
      res = await fetch(url, { method, headers, body: payload, redirect: "manual", signal: AbortSignal.timeout(this.#timeout) });
      text = await res.text();
    } catch (err) {
      throw this.#noAnswer(where, err);
    }
    if (res.status < 200 || res.status > 299) throw this.#answerError(res.status, text);
    if (text.trim() === "") return undefined;
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new SynclayerError({ status: res.status, code: "bad_answer", message: `${where}: the answer is not JSON`, cause: err });
    }
  }

  // #answerError reads the server's error body, as the Go client does.
  #answerError(status, text) {
    try {
      const e = JSON.parse(text)?.error;
      if (e && typeof e.code === "string" && e.code !== "") {
        return new SynclayerError({ status, code: e.code, message: this.#redact(String(e.message ?? "")), field: e.field });
      }
    } catch {
      // not JSON: keep the status, with the body as message
    }
    let message = text.trim().slice(0, 200);
    if (message === "") message = `HTTP ${status}`;
    return new SynclayerError({ status, code: `http_${status}`, message: this.#redact(message) });
  }

  #noAnswer(where, err) {
    if (err?.name === "TimeoutError") {
      return new SynclayerError({ status: 0, code: "timeout", message: `${where}: no answer within ${this.#timeout} ms`, cause: err });
    }
    const reason = err?.cause?.message ?? err?.message ?? String(err);
    return new SynclayerError({ status: 0, code: "network", message: this.#redact(`${where}: ${reason}`), cause: err });
  }

  #redact(s) {
    return s.split(this.#apiKey).join("[REDACTED]");
  }
}

const esc = encodeURIComponent;

/** Skills reads and changes skills. */
class Skills {
  #request;
  constructor(request) {
    this.#request = request;
  }

  /** list returns every skill, enabled or not (viewer). */
  async list() {
    return (await this.#request("GET", "/api/v1/skills")).skills;
  }

  /**
   * enable enables or updates a skill with config, its whole config in the
   * shape of its block under skills: in synclayer.yaml (snake_case keys).
   * It applies at once and answers the skill with the config version it
   * recorded (admin). An invalid config throws code "invalid" naming the
   * field, and changes nothing.
   */
  enable(name, config) {
    return this.#request("PUT", `/api/v1/skills/${esc(name)}`, { body: config });
  }

  /** disable stops a skill and keeps its config (admin). */
  disable(name) {
    return this.#request("POST", `/api/v1/skills/${esc(name)}/disable`);
  }

  /**
   * trigger pushes one event, { event, data }, through the same validation
   * and pipeline as a webhook (operator). data is the customer in the
   * custom source's format: canonical field names ("email", "firstName"),
   * "emailConsent", "attributes". It answers { id, status, contactId }:
   * status "applied", "unchanged", or "failed" with a reason. A disabled
   * skill throws code "conflict". The input is sent as it is, so a
   * misspelt key is refused naming it.
   */
  trigger(name, input) {
    return this.#request("POST", `/api/v1/skills/${esc(name)}/trigger`, { body: input ?? {} });
  }
}

/** Contacts reads canonical contacts (viewer). */
class Contacts {
  #request;
  constructor(request) {
    this.#request = request;
  }

  /** get returns one contact; an unknown ID throws code "not_found". */
  get(id) {
    return this.#request("GET", `/api/v1/contacts/${esc(id)}`);
  }

  /**
   * list finds contacts by email or phone (E.164), newest first; with
   * neither, the most recently changed. None is [], not an error.
   */
  async list({ email, phone, limit } = {}) {
    return (await this.#request("GET", "/api/v1/contacts", { query: { email, phone, limit } })).contacts;
  }

  /**
   * trace returns a contact's history, oldest first: each event with the
   * rule that decided every field, and each delivery with what the
   * destination answered.
   */
  async trace(id) {
    return (await this.#request("GET", `/api/v1/contacts/${esc(id)}/trace`)).trace;
  }
}

/** Jobs lists delivery jobs (viewer). */
class Jobs {
  #request;
  constructor(request) {
    this.#request = request;
  }

  /** list returns jobs, most recently updated first. */
  async list({ state, skill, queue, limit } = {}) {
    return (await this.#request("GET", "/api/v1/jobs", { query: { state, skill, queue, limit } })).jobs;
  }
}

/** DLQ reads and resolves dead-lettered deliveries. */
class DLQ {
  #request;
  constructor(request) {
    this.#request = request;
  }

  /** list returns the dead jobs, each with the reason it gave up (viewer). */
  async list({ limit } = {}) {
    return (await this.#request("GET", "/api/v1/dlq", { query: { limit } })).jobs;
  }

  /**
   * retry puts a dead job back in the queue with a fresh retry budget
   * (operator); an ID that is not dead throws code "not_found".
   */
  retry(id) {
    return this.#request("POST", `/api/v1/dlq/${esc(String(id))}/retry`);
  }

  /** delete discards a dead job for good (operator). */
  async delete(id) {
    await this.#request("DELETE", `/api/v1/dlq/${esc(String(id))}`);
  }
}
