// Types for the synclayer admin API client (index.js). The shapes follow
// api/openapi.yaml; timestamps are RFC 3339 strings.

export interface SynclayerOptions {
  /** Default SYNCLAYER_URL, else http://127.0.0.1:8080. */
  baseUrl?: string;
  /** Default SYNCLAYER_API_KEY; one of them is required. */
  apiKey?: string;
  /** Milliseconds per request, default 30000. */
  timeout?: number;
}

/** The server's error codes, or http_<status> for an answer of another shape, or timeout/network with no answer. */
export type ErrorCode =
  | "invalid"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "too_large"
  | "internal"
  | "timeout"
  | "network"
  | "bad_answer"
  | `http_${number}`;

export class SynclayerError extends Error {
  constructor(init: { status: number; code: string; message: string; field?: string | null; cause?: unknown });
  readonly name: "SynclayerError";
  /** The HTTP status, or 0 when no answer came. */
  status: number;
  code: ErrorCode | (string & {});
  /** The input at fault, such as "options.list_id", or null. */
  field: string | null;
}

export interface CustomerSyncOptions {
  sync_mode?: "realtime" | "batch";
  delete_behavior?: "soft" | "hard";
  list_id?: number;
  create_attributes?: boolean;
  consent_source?: string;
  default_region?: string;
  batch?: { interval?: string; max_size?: number };
  import_list_id?: number;
}

/** customer-sync's config: its block under skills: in synclayer.yaml, snake_case keys. */
export interface CustomerSyncConfig {
  /** PUT always enables; false is refused (use disable). */
  enabled?: true;
  owner?: string;
  source?: string | string[];
  /** Canonical field to Brevo attribute; must map email. */
  field_mapping?: Record<string, string>;
  options?: CustomerSyncOptions;
  debug?: boolean;
  log_level?: "info" | "verbose";
}

export interface Skill {
  name: string;
  enabled: boolean;
  /** true when enable and disable can change the skill (customer-sync). */
  editable: boolean;
  /** The sources the skill delivers now; empty while disabled. */
  sources: string[];
  config: CustomerSyncConfig & Record<string, unknown>;
}

export interface SkillChange extends Skill {
  /** The config version the change recorded (the running one when nothing changed). */
  version: number;
}

export type CustomerEvent = "customer_created" | "customer_updated" | "customer_deleted";

export interface TriggerInput {
  /** The custom source's event name, such as customer_created. */
  event: CustomerEvent | (string & {});
  /** The customer in the custom source's format: canonical field names, emailConsent, attributes. */
  data: Record<string, unknown>;
}

export interface TriggerResult {
  /** The stored event's ID. */
  id: string;
  status: "applied" | "unchanged" | "failed";
  duplicate?: boolean;
  reason?: string;
  contactId?: string;
}

export interface Consent {
  state?: "not_subscribed" | "subscribed" | "unsubscribed";
  source?: string;
  at?: string;
  optOutAt?: string;
  optInAt?: string;
  withdrawnAt?: string;
}

export interface Contact {
  id: string;
  sourceIds: Record<string, string>;
  email?: string;
  phone?: string;
  /** Canonical field name to value with provenance. */
  fields: Record<string, { v: unknown; at: string; src: string }>;
  emailConsent: Consent;
  smsConsent: Consent;
  deleted?: boolean;
  deletedAt?: string;
  createdAt: string;
  updatedAt: string;
  version: number;
}

export interface TraceEntry {
  id: number;
  contactId: string;
  at: string;
  kind: "event" | "delivery";
  eventId?: string;
  summary: string;
  detail?: unknown;
}

export type JobState = "pending" | "running" | "done" | "dead";

export interface Job {
  id: number;
  /** The queue the job waits in: customer-sync@klaviyo, customer-sync:batch. */
  queue: string;
  /** The skill the job runs: customer-sync. */
  skill: string;
  destination: string;
  /** The contact ID. */
  recordKey: string;
  state: JobState;
  attempts: number;
  runAt: string;
  leaseUntil?: string;
  lastError?: string;
  firstSeenAt: string;
  createdAt: string;
  updatedAt: string;
}

export type StatsWindow = "15m" | "1h" | "24h" | "7d";

export interface SkillStats {
  skill: string;
  attempts: number;
  delivered: number;
  retried: number;
  dead: number;
  successRate: number | null;
  errorRate: number | null;
  avgLatencyMs: number | null;
  p95LatencyMs: number | null;
  queue: { pending: number; running: number; dead: number };
}

export interface Stats {
  window: StatsWindow;
  since: string;
  until: string;
  skills: SkillStats[];
}

export interface Skills {
  /** Every skill, enabled or not (viewer). */
  list(): Promise<Skill[]>;
  /** Enable or update a skill with its whole config (admin). */
  enable(name: string, config: CustomerSyncConfig | Record<string, unknown>): Promise<SkillChange>;
  /** Stop a skill, keeping its config (admin). */
  disable(name: string): Promise<SkillChange>;
  /** Push one event through the pipeline (operator); answers 202's body. */
  trigger(name: string, input: TriggerInput): Promise<TriggerResult>;
}

export interface Contacts {
  /** One contact; an unknown ID throws code not_found. */
  get(id: string): Promise<Contact>;
  /** Contacts by email or phone, newest first. */
  list(filter?: { email?: string; phone?: string; limit?: number }): Promise<Contact[]>;
  /** The contact's history, oldest first. */
  trace(id: string): Promise<TraceEntry[]>;
}

export interface Jobs {
  list(filter?: { state?: JobState; skill?: string; queue?: string; limit?: number }): Promise<Job[]>;
}

export interface DLQ {
  /** Dead-lettered jobs with the reason each gave up (viewer). */
  list(filter?: { limit?: number }): Promise<Job[]>;
  /** Requeue a dead job (operator); one that is not dead throws code not_found. */
  retry(id: number): Promise<{ id: number; status: "requeued" }>;
  /** Discard a dead job for good (operator). */
  delete(id: number): Promise<void>;
}

export class Synclayer {
  /** Throws a TypeError when no API key is given or set in SYNCLAYER_API_KEY. */
  constructor(options?: SynclayerOptions);
  readonly skills: Skills;
  readonly contacts: Contacts;
  readonly jobs: Jobs;
  readonly dlq: DLQ;
  /** Each skill's delivery figures over the window (default 1h) and its queue now (viewer). */
  stats(options?: { window?: StatsWindow }): Promise<Stats>;
}
