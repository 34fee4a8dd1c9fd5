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
  readonly web: { readonly port: number };
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
      'Comma-separated brokers for scale-out mode (not in this version: `brisk start` refuses it). Unset: connector and engine share one process.',
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
    name: 'WEB_PORT',
    default: '3000',
    description: 'Storefront port (reserved: the storefront is not in this version).',
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
  const webPort = int('WEB_PORT', 3000, 0, 65535);
  const token = get('BRISK_API_TOKEN') ?? null;
  if (token !== null && token.length < 16) {
    problems.push('BRISK_API_TOKEN must be at least 16 characters (use e.g. `openssl rand -hex 24`)');
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
    web: { port: webPort },
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
