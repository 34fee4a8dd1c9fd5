import { isIP } from 'node:net';
import path from 'node:path';
import { briskError } from './errors.ts';

/**
 * All configuration comes from the environment, is validated once here, and is frozen. Nothing else in Brisk
 * reads process.env. The README's configuration table is checked against CONFIG_VARS by a test.
 */
export type RedisDurability = 'strict' | 'relaxed' | 'none';
export type DecimalHandling = 'precise' | 'string' | 'double';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  /** null: start embedded PostgreSQL under dataDir. */
  readonly databaseUrl: string | null;
  /** null: spawn redis-server under dataDir. */
  readonly redisUrl: string | null;
  /** Empty: embedded mode, the connector hands events to the engine in-process. */
  readonly kafkaBrokers: readonly string[];
  readonly topicPrefix: string;
  readonly api: { readonly host: string; readonly port: number; readonly token: string | null };
  readonly web: {
    readonly host: string;
    readonly port: number;
    readonly apiUrl: string;
    /** null: a random key per process (sessions end at restart). */
    readonly sessionSecret: string | null;
    /** How long server rendering waits for the feature API before it renders fallback content. */
    readonly budgetMs: number;
  };
  readonly streams: {
    readonly heartbeatMs: number;
    readonly slowClientMs: number;
    readonly maxStreams: number;
  };
  readonly kafka: {
    readonly schemas: boolean;
    /** Column whose value keys activity messages; null: the primary key, as Debezium does. */
    readonly partitionKey: string | null;
    readonly idempotent: boolean;
    readonly group: string;
  };
  readonly source: {
    readonly schema: string;
    readonly table: string;
    readonly publication: string;
    readonly slot: string;
  };
  /** The product catalogue joined into features (category, price, embedding). */
  readonly catalogue: { readonly schema: string; readonly table: string };
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  readonly redisDurability: RedisDurability;
  readonly decimalHandling: DecimalHandling;
  readonly heartbeatMs: number;
  readonly snapshot: 'initial' | 'never';
  readonly state: {
    readonly maxRowsPerUser: number;
    readonly userTtlSeconds: number;
    readonly l1MaxBytes: number;
  };
}

export interface ConfigVar {
  readonly name: string;
  readonly default: string;
  readonly description: string;
}

/** Declared once; loadConfig() and the README table both follow this list. */
export const CONFIG_VARS: readonly ConfigVar[] = [
  {
    name: 'DATABASE_URL',
    default: '(embedded)',
    description:
      'PostgreSQL to capture from. Unset: embedded PostgreSQL under `.brisk/pg`. Needs `wal_level=logical` and the publication.',
  },
  {
    name: 'REDIS_URL',
    default: '(spawned)',
    description: 'Redis holding feature state. Unset: `redis-server` from PATH, AOF under `.brisk/redis`.',
  },
  {
    name: 'KAFKA_BROKERS',
    default: '(none)',
    description:
      'Comma-separated brokers: scale-out mode (`brisk connector`, `brisk engine`, `brisk serve`). Unset: `brisk start` runs connector and engine in one process with no broker.',
  },
  {
    name: 'TOPIC_PREFIX',
    default: 'cdc',
    description: 'Debezium `topic.prefix`; topics are `<prefix>.<schema>.<table>`.',
  },
  { name: 'API_HOST', default: '127.0.0.1', description: 'Feature API bind address.' },
  { name: 'API_PORT', default: '8080', description: 'Feature API port.' },
  {
    name: 'BRISK_API_TOKEN',
    default: '(none)',
    description:
      'When set, every API route but `/healthz`, `/readyz` and `/docs` needs `Authorization: Bearer <token>`. Required for a non-loopback API_HOST.',
  },
  {
    name: 'WEB_HOST',
    default: '127.0.0.1',
    description: 'Storefront bind address.',
  },
  {
    name: 'WEB_PORT',
    default: '3000',
    description: 'Storefront (Qwik) port.',
  },
  {
    name: 'BRISK_WEB_BUDGET_MS',
    default: '150',
    description:
      'How long the storefront waits for the feature API while rendering a page; past it the page renders fallback content (popular products) and the live stream fills it in.',
  },
  {
    name: 'BRISK_API_URL',
    default: '(http://API_HOST:API_PORT)',
    description:
      'Where the storefront and `brisk bench` reach the feature API (a `brisk serve` instance or a load balancer).',
  },
  {
    name: 'BRISK_SESSION_SECRET',
    default: '(random per process)',
    description:
      'Key signing the storefront session cookie (at least 32 characters). Set it when several web instances serve one site, or sessions end at every restart.',
  },
  {
    name: 'BRISK_STREAM_HEARTBEAT_MS',
    default: '15000',
    description:
      'Comment heartbeat on open feature streams (SSE), so proxies and clients see a live connection.',
  },
  {
    name: 'BRISK_STREAM_SLOW_CLIENT_MS',
    default: '10000',
    description: 'A stream whose client has not read for this long is closed (its socket buffer is full).',
  },
  {
    name: 'BRISK_MAX_STREAMS',
    default: '10000',
    description: 'Open feature streams per serving process; more get 503.',
  },
  {
    name: 'BRISK_KAFKA_SCHEMAS',
    default: 'false',
    description:
      'Connector: write `{schema, payload}` (Kafka Connect `value.converter.schemas.enable=true`) or the bare envelope. The engine reads both either way.',
  },
  {
    name: 'BRISK_KAFKA_PARTITION_KEY',
    default: '(primary key)',
    description:
      'Connector: key activity messages by this column (e.g. `user_id`, like Debezium\'s PartitionRouting) instead of the primary key `{"id": ...}`.',
  },
  {
    name: 'BRISK_KAFKA_IDEMPOTENT',
    default: 'true',
    description:
      "Connector: idempotent producer (no duplicates from retries). `false` only for brokers without it, such as librdkafka's mock cluster; the engine then drops the duplicates.",
  },
  {
    name: 'BRISK_ENGINE_GROUP',
    default: 'brisk-engine',
    description: 'Engine: Kafka consumer group; every `brisk engine` in one group shares the partitions.',
  },
  {
    name: 'BRISK_SOURCE_TABLE',
    default: 'public.user_activity',
    description: 'Activity table captured (`schema.table`), with the seed schema.',
  },
  {
    name: 'BRISK_CATALOGUE_TABLE',
    default: 'public.product',
    description:
      'Product catalogue (`id`, `name`, `category`, `price`). Read through the slot when published, else looked up read-only; absent: categories are null.',
  },
  { name: 'BRISK_PUBLICATION', default: 'dbz_publication', description: 'Publication the slot decodes.' },
  {
    name: 'BRISK_SLOT',
    default: 'brisk_user_activity',
    description: 'Durable replication slot; created if missing, never dropped by Brisk.',
  },
  { name: 'BRISK_DATA_DIR', default: '.brisk', description: 'Embedded PostgreSQL, Redis AOF, runtime.json.' },
  {
    name: 'BRISK_LOG_LEVEL',
    default: 'info',
    description: 'fatal, error, warn, info, debug, trace or silent.',
  },
  {
    name: 'BRISK_REDIS_DURABILITY',
    default: 'strict',
    description:
      '`strict`: Redis must run `appendonly yes` + `appendfsync always` (acknowledged = fsynced). `relaxed`: AOF with any fsync policy (an OS crash can lose ~1 s). `none`: no check (Redis loss detected at start).',
  },
  {
    name: 'BRISK_DECIMAL_HANDLING',
    default: 'precise',
    description:
      'NUMERIC encoding in change events, as Debezium `decimal.handling.mode`: precise, string, double.',
  },
  {
    name: 'BRISK_SNAPSHOT',
    default: 'initial',
    description:
      '`initial`: when Brisk creates its slot, it first reads the rows already in the tables (within retention), like Debezium `snapshot.mode=initial`. `never`: only changes from then on.',
  },
  {
    name: 'BRISK_HEARTBEAT_MS',
    default: '10000',
    description: 'Status updates to PostgreSQL; an idle slot is advanced to the server position this often.',
  },
  {
    name: 'BRISK_MAX_ROWS_PER_USER',
    default: '500',
    description: 'Activity rows kept per user (newest by event time); older rows stop counting.',
  },
  {
    name: 'BRISK_USER_TTL_S',
    default: '604800',
    description:
      'Retention: a user idle this long is forgotten by Redis, and rows older than this (by activity time) stop counting.',
  },
  { name: 'BRISK_L1_MAX_MB', default: '256', description: 'In-process cache budget per process.' },
];

type Env = Readonly<Record<string, string | undefined>>;

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    const value = /^\d{1,10}$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got '${raw}')`);
      return fallback;
    }
    return value;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      problems.push(`${name} must be one of ${allowed.join(', ')} (got '${raw}')`);
      return fallback;
    }
    return raw as T;
  };
  const url = (name: string, protocols: readonly string[]): string | null => {
    const raw = get(name);
    if (raw === undefined) return null;
    try {
      const parsed = new URL(raw);
      if (!protocols.includes(parsed.protocol)) {
        problems.push(
          `${name} must start with ${protocols.map((p) => `${p}//`).join(' or ')} (got '${parsed.protocol}//...')`,
        );
      }
    } catch {
      problems.push(`${name} is not a URL (expected e.g. ${protocols[0]}//user@host:port/...)`);
    }
    return raw;
  };
  const ident = (name: string, fallback: string): string => {
    const raw = get(name) ?? fallback;
    if (!IDENT.test(raw)) {
      problems.push(`${name} must be a lower-case identifier matching ${IDENT} (got '${raw}')`);
      return fallback;
    }
    return raw;
  };

  const databaseUrl = url('DATABASE_URL', ['postgres:', 'postgresql:']);
  const redisUrl = url('REDIS_URL', ['redis:', 'rediss:']);
  const kafkaBrokers = (get('KAFKA_BROKERS') ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');
  for (const broker of kafkaBrokers) {
    const port = Number(/^[^\s:/]+:(\d{1,5})$/.exec(broker)?.[1] ?? Number.NaN);
    if (!(port >= 1 && port <= 65535)) {
      problems.push(`KAFKA_BROKERS entries must be host:port with a port from 1 to 65535 (got '${broker}')`);
    }
  }
  const topicPrefix = get('TOPIC_PREFIX') ?? 'cdc';
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(topicPrefix)) {
    problems.push(`TOPIC_PREFIX may hold only letters, digits, '.', '_' and '-' (got '${topicPrefix}')`);
  }

  const apiHost = get('API_HOST') ?? '127.0.0.1';
  if (isIP(apiHost) === 0 && !/^[A-Za-z0-9.-]{1,253}$/.test(apiHost)) {
    problems.push(`API_HOST must be an IP address or host name (got '${apiHost}')`);
  }
  const apiPort = int('API_PORT', 8080, 0, 65535);
  const webHost = get('WEB_HOST') ?? '127.0.0.1';
  if (isIP(webHost) === 0 && !/^[A-Za-z0-9.-]{1,253}$/.test(webHost)) {
    problems.push(`WEB_HOST must be an IP address or host name (got '${webHost}')`);
  }
  const webPort = int('WEB_PORT', 3000, 0, 65535);
  const token = get('BRISK_API_TOKEN') ?? null;
  if (token !== null && token.length < 16) {
    problems.push('BRISK_API_TOKEN must be at least 16 characters (use e.g. `openssl rand -hex 24`)');
  }

  const sessionSecret = get('BRISK_SESSION_SECRET') ?? null;
  if (sessionSecret !== null && sessionSecret.length < 32) {
    problems.push('BRISK_SESSION_SECRET must be at least 32 characters (use e.g. `openssl rand -hex 32`)');
  }
  const apiUrl =
    url('BRISK_API_URL', ['http:', 'https:']) ??
    `http://${apiHost.includes(':') ? `[${apiHost}]` : apiHost === '0.0.0.0' ? '127.0.0.1' : apiHost}:${apiPort}`;
  const partitionKey = get('BRISK_KAFKA_PARTITION_KEY') ?? null;
  if (partitionKey !== null && !IDENT.test(partitionKey)) {
    problems.push(
      `BRISK_KAFKA_PARTITION_KEY must be a column name matching ${IDENT} (got '${partitionKey}')`,
    );
  }
  const group = get('BRISK_ENGINE_GROUP') ?? 'brisk-engine';
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(group)) {
    problems.push(`BRISK_ENGINE_GROUP may hold only letters, digits, '.', '_' and '-' (got '${group}')`);
  }

  const qualified = (name: string, fallback: string): { schema: string; table: string } => {
    const raw = get(name) ?? fallback;
    const parts = raw.split('.');
    if (parts.length !== 2 || !parts.every((p) => IDENT.test(p))) {
      problems.push(`${name} must be schema.table in lower case (got '${raw}')`);
      const [schema, table] = fallback.split('.') as [string, string];
      return { schema, table };
    }
    const [schema, table] = parts as [string, string];
    return { schema, table };
  };
  const { schema, table } = qualified('BRISK_SOURCE_TABLE', 'public.user_activity');
  const catalogue = qualified('BRISK_CATALOGUE_TABLE', 'public.product');

  const config: Config = {
    databaseUrl,
    redisUrl,
    kafkaBrokers,
    topicPrefix,
    api: { host: apiHost, port: apiPort, token },
    web: {
      host: webHost,
      port: webPort,
      apiUrl,
      sessionSecret,
      budgetMs: int('BRISK_WEB_BUDGET_MS', 150, 1, 60_000),
    },
    streams: {
      heartbeatMs: int('BRISK_STREAM_HEARTBEAT_MS', 15_000, 100, 600_000),
      slowClientMs: int('BRISK_STREAM_SLOW_CLIENT_MS', 10_000, 100, 600_000),
      maxStreams: int('BRISK_MAX_STREAMS', 10_000, 1, 1_000_000),
    },
    kafka: {
      schemas: oneOf('BRISK_KAFKA_SCHEMAS', ['true', 'false'] as const, 'false') === 'true',
      partitionKey,
      idempotent: oneOf('BRISK_KAFKA_IDEMPOTENT', ['true', 'false'] as const, 'true') === 'true',
      group,
    },
    source: {
      schema,
      table,
      publication: ident('BRISK_PUBLICATION', 'dbz_publication'),
      slot: ident('BRISK_SLOT', 'brisk_user_activity'),
    },
    catalogue,
    dataDir: path.resolve(cwd, get('BRISK_DATA_DIR') ?? '.brisk'),
    logLevel: oneOf('BRISK_LOG_LEVEL', LOG_LEVELS, 'info'),
    redisDurability: oneOf<RedisDurability>(
      'BRISK_REDIS_DURABILITY',
      ['strict', 'relaxed', 'none'],
      'strict',
    ),
    decimalHandling: oneOf<DecimalHandling>(
      'BRISK_DECIMAL_HANDLING',
      ['precise', 'string', 'double'],
      'precise',
    ),
    heartbeatMs: int('BRISK_HEARTBEAT_MS', 10_000, 100, 600_000),
    snapshot: oneOf('BRISK_SNAPSHOT', ['initial', 'never'] as const, 'initial'),
    state: {
      maxRowsPerUser: int('BRISK_MAX_ROWS_PER_USER', 500, 1, 100_000),
      userTtlSeconds: int('BRISK_USER_TTL_S', 604_800, 60, 31_536_000),
      l1MaxBytes: int('BRISK_L1_MAX_MB', 256, 1, 65_536) * 1024 * 1024,
    },
  };

  if (problems.length > 0) {
    throw briskError('BRISK_CONFIG_INVALID', `Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
  if (token === null && !isLoopback(apiHost)) {
    throw briskError(
      'BRISK_CONFIG_INSECURE_BIND',
      `API_HOST=${apiHost} exposes the feature API beyond this machine; set BRISK_API_TOKEN (at least 16 characters) or bind to 127.0.0.1.`,
    );
  }
  return deepFreeze(config);
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
