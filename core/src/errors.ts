/**
 * Every failure Brisk names has a stable code here. A code never changes meaning once released; the README's
 * error table is checked against this registry by a test, so the two cannot drift.
 *
 * `status` is the HTTP status when the error reaches an API client. `retriable` says whether trying the same
 * thing again later can succeed (a server restarting, a slot still held by a dying process); the retry helper
 * in backoff.ts reads it and never retries anything else.
 */
export const ERROR_CODES = {
  BRISK_CONFIG_INVALID: {
    status: 500,
    retriable: false,
    summary: 'An environment variable has an invalid value.',
  },
  BRISK_CONFIG_INSECURE_BIND: {
    status: 500,
    retriable: false,
    summary: 'API_HOST is not a loopback address but BRISK_API_TOKEN is not set.',
  },
  BRISK_ALREADY_RUNNING: {
    status: 500,
    retriable: false,
    summary: 'Another brisk process owns the data directory (.brisk/).',
  },
  BRISK_REDIS_SERVER_MISSING: {
    status: 500,
    retriable: false,
    summary: 'redis-server is not on PATH and REDIS_URL is not set.',
  },
  BRISK_EMBEDDED_PG_FAILED: { status: 500, retriable: false, summary: 'Embedded PostgreSQL did not start.' },
  BRISK_MAPPER_INVALID: {
    status: 500,
    retriable: false,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: names MyBatis' ${} syntax, not a template.
    summary: 'A MyBatis mapper file cannot be used (unsafe ${} substitution, unsupported tag, unknown id).',
  },
  BRISK_MAPPER_PARAM: {
    status: 400,
    retriable: false,
    summary: 'A mapper statement was called without a parameter it names.',
  },
  BRISK_PG_UNREACHABLE: { status: 503, retriable: true, summary: 'PostgreSQL cannot be reached.' },
  BRISK_PG_WAL_LEVEL: { status: 500, retriable: false, summary: 'PostgreSQL wal_level is not logical.' },
  BRISK_PG_PRIVILEGE: {
    status: 500,
    retriable: false,
    summary: 'The database role may not use logical replication.',
  },
  BRISK_PG_TABLE_MISSING: { status: 500, retriable: false, summary: 'The source table does not exist.' },
  BRISK_PG_PUBLICATION_MISSING: { status: 500, retriable: false, summary: 'The publication does not exist.' },
  BRISK_PG_TABLE_NOT_PUBLISHED: {
    status: 500,
    retriable: false,
    summary: 'The publication does not include the source table.',
  },
  BRISK_PG_SLOTS_EXHAUSTED: { status: 500, retriable: false, summary: 'No free replication slot.' },
  BRISK_SLOT_MISMATCH: {
    status: 500,
    retriable: false,
    summary: 'The named slot exists but uses another plugin or database.',
  },
  BRISK_SLOT_IN_USE: {
    status: 503,
    retriable: true,
    summary: 'The replication slot is held by another connection.',
  },
  BRISK_REPLICATION_LOST: { status: 503, retriable: true, summary: 'The replication connection dropped.' },
  BRISK_PGOUTPUT_PROTOCOL: {
    status: 500,
    retriable: false,
    summary: 'A pgoutput message could not be decoded.',
  },
  BRISK_LSN_INVALID: { status: 500, retriable: false, summary: 'An LSN is malformed or out of range.' },
  BRISK_REDIS_UNREACHABLE: { status: 503, retriable: true, summary: 'Redis cannot be reached.' },
  BRISK_REDIS_NOT_DURABLE: {
    status: 500,
    retriable: false,
    summary: 'Redis persistence is weaker than BRISK_REDIS_DURABILITY requires.',
  },
  BRISK_STORE_LOST_DATA: {
    status: 500,
    retriable: false,
    summary: 'Redis holds less than PostgreSQL was told is stored (data was lost).',
  },
  BRISK_STORE_CONFLICT: {
    status: 503,
    retriable: true,
    summary: 'A user state kept changing under concurrent writers.',
  },
  BRISK_STORE_UNAVAILABLE: { status: 503, retriable: true, summary: 'The feature store is unavailable.' },
  BRISK_EVENT_MALFORMED: {
    status: 422,
    retriable: false,
    summary: 'A change event does not have the Debezium shape.',
  },
  BRISK_EVENT_MISSING_FIELD: {
    status: 422,
    retriable: false,
    summary: 'A change event lacks a column the engine needs.',
  },
  BRISK_EVENT_INVALID_USER_ID: {
    status: 422,
    retriable: false,
    summary: 'A change event carries a user id the API could never serve.',
  },
  BRISK_EVENT_INVALID_TIMESTAMP: {
    status: 422,
    retriable: false,
    summary: 'A change event carries an unparseable activity_timestamp.',
  },
  BRISK_EVENT_MISSING_PRODUCT: {
    status: 422,
    retriable: false,
    summary: 'A product activity has no product_id; the row is kept but product features ignore it.',
  },
  BRISK_INVALID_USER_ID: { status: 400, retriable: false, summary: 'The user id in the request is invalid.' },
  BRISK_BAD_REQUEST: { status: 400, retriable: false, summary: 'The request is malformed.' },
  BRISK_UNAUTHORIZED: {
    status: 401,
    retriable: false,
    summary: 'A bearer token is required (BRISK_API_TOKEN is set).',
  },
  BRISK_NOT_FOUND: { status: 404, retriable: false, summary: 'No such route.' },
  BRISK_KAFKA_UNAVAILABLE: {
    status: 503,
    retriable: true,
    summary:
      'Kafka did not acknowledge a write (brokers down or unreachable); the connector replays from its slot.',
  },
  BRISK_KAFKA_MESSAGE_INVALID: {
    status: 400,
    retriable: false,
    summary:
      'A Kafka message is not a Debezium change event (bad JSON, wrong shape, binary); it goes to `<topic>.dlq`.',
  },
  BRISK_TOO_MANY_STREAMS: {
    status: 503,
    retriable: true,
    summary: 'The serving instance has as many feature streams open as it allows.',
  },
  BRISK_NOT_READY: { status: 503, retriable: true, summary: 'The pipeline is not streaming yet.' },
  BRISK_INTERNAL: { status: 500, retriable: false, summary: 'An unexpected error; the log has the details.' },
} as const satisfies Record<string, { status: number; retriable: boolean; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class BriskError extends Error {
  override readonly name = 'BriskError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.retriable = ERROR_CODES[code].retriable;
  }

  /** The JSON body an API client receives. */
  toJSON(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export function briskError(code: ErrorCode, message: string, cause?: unknown): BriskError {
  return new BriskError(code, message, cause === undefined ? undefined : { cause });
}

export function isBriskError(error: unknown, code?: ErrorCode): error is BriskError {
  return error instanceof BriskError && (code === undefined || error.code === code);
}

/** True only for errors that say so: programmer errors (TypeError, ...) are never retried. */
export function isRetriable(error: unknown): boolean {
  return error instanceof BriskError && error.retriable;
}
