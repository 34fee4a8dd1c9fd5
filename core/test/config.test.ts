import { BriskError, type ErrorCode } from '@brisk/core';
import { describe, expect, it } from 'vitest';
import { type Config, isLoopback, loadConfig } from '../src/config.ts';

const CWD = '/srv/shop';
const TOKEN = '0123456789abcdef'; // exactly 16 characters

function failure(env: Record<string, string>): { code: ErrorCode | string; message: string } {
  try {
    loadConfig(env, CWD);
  } catch (error) {
    if (error instanceof BriskError) return { code: error.code, message: error.message };
    return { code: `not a BriskError: ${String(error)}`, message: '' };
  }
  return { code: 'nothing thrown', message: '' };
}

describe('loadConfig defaults', () => {
  it('an empty environment gives the documented defaults', () => {
    const expected: Config = {
      databaseUrl: null,
      redisUrl: null,
      kafkaBrokers: [],
      topicPrefix: 'cdc',
      api: { host: '127.0.0.1', port: 8080, token: null },
      web: {
        host: '127.0.0.1',
        port: 3000,
        apiUrl: 'http://127.0.0.1:8080',
        sessionSecret: null,
        budgetMs: 150,
      },
      streams: { heartbeatMs: 15_000, slowClientMs: 10_000, maxStreams: 10_000 },
      kafka: { schemas: false, partitionKey: null, idempotent: true, group: 'brisk-engine' },
      source: {
        schema: 'public',
        table: 'user_activity',
        publication: 'dbz_publication',
        slot: 'brisk_user_activity',
      },
      catalogue: { schema: 'public', table: 'product' },
      dataDir: '/srv/shop/.brisk',
      logLevel: 'info',
      redisDurability: 'strict',
      decimalHandling: 'precise',
      heartbeatMs: 10_000,
      snapshot: 'initial',
      state: { maxRowsPerUser: 500, userTtlSeconds: 604_800, l1MaxBytes: 256 * 1024 * 1024 },
    };
    expect(loadConfig({}, CWD)).toEqual(expected);
  });

  it('treats empty and blank variables as unset, and trims values', () => {
    const config = loadConfig(
      { API_PORT: '', WEB_PORT: '   ', TOPIC_PREFIX: ' shop ', API_HOST: ' ::1 ' },
      CWD,
    );
    expect(config.api.port).toBe(8080);
    expect(config.web.port).toBe(3000);
    expect(config.topicPrefix).toBe('shop');
    expect(config.api.host).toBe('::1');
  });

  it('reads every variable', () => {
    const config = loadConfig(
      {
        DATABASE_URL: 'postgresql://app@db:5432/shop',
        REDIS_URL: 'rediss://cache:6380/0',
        KAFKA_BROKERS: 'k1:9092,k2:9093',
        TOPIC_PREFIX: 'cdc.app_server_1',
        API_HOST: '0.0.0.0',
        API_PORT: '9090',
        BRISK_API_TOKEN: TOKEN,
        WEB_HOST: '0.0.0.0',
        WEB_PORT: '3001',
        BRISK_WEB_BUDGET_MS: '40',
        BRISK_SOURCE_TABLE: 'app.activity_log',
        BRISK_CATALOGUE_TABLE: 'app.items',
        BRISK_SNAPSHOT: 'never',
        BRISK_PUBLICATION: 'pub_1',
        BRISK_SLOT: 'slot_1',
        BRISK_DATA_DIR: 'var/brisk',
        BRISK_LOG_LEVEL: 'silent',
        BRISK_REDIS_DURABILITY: 'relaxed',
        BRISK_DECIMAL_HANDLING: 'string',
        BRISK_HEARTBEAT_MS: '100',
        BRISK_MAX_ROWS_PER_USER: '100000',
        BRISK_USER_TTL_S: '60',
        BRISK_L1_MAX_MB: '1',
        BRISK_API_URL: 'https://features.internal:8443',
        BRISK_SESSION_SECRET: 'x'.repeat(32),
        BRISK_STREAM_HEARTBEAT_MS: '500',
        BRISK_STREAM_SLOW_CLIENT_MS: '2000',
        BRISK_MAX_STREAMS: '7',
        BRISK_KAFKA_SCHEMAS: 'true',
        BRISK_KAFKA_PARTITION_KEY: 'user_id',
        BRISK_KAFKA_IDEMPOTENT: 'false',
        BRISK_ENGINE_GROUP: 'features-1',
      },
      CWD,
    );
    expect(config).toEqual({
      databaseUrl: 'postgresql://app@db:5432/shop',
      redisUrl: 'rediss://cache:6380/0',
      kafkaBrokers: ['k1:9092', 'k2:9093'],
      topicPrefix: 'cdc.app_server_1',
      api: { host: '0.0.0.0', port: 9090, token: TOKEN },
      web: {
        host: '0.0.0.0',
        port: 3001,
        apiUrl: 'https://features.internal:8443',
        sessionSecret: 'x'.repeat(32),
        budgetMs: 40,
      },
      streams: { heartbeatMs: 500, slowClientMs: 2000, maxStreams: 7 },
      kafka: { schemas: true, partitionKey: 'user_id', idempotent: false, group: 'features-1' },
      source: { schema: 'app', table: 'activity_log', publication: 'pub_1', slot: 'slot_1' },
      catalogue: { schema: 'app', table: 'items' },
      dataDir: '/srv/shop/var/brisk',
      logLevel: 'silent',
      redisDurability: 'relaxed',
      decimalHandling: 'string',
      heartbeatMs: 100,
      snapshot: 'never',
      state: { maxRowsPerUser: 100_000, userTtlSeconds: 60, l1MaxBytes: 1024 * 1024 },
    });
  });

  it('keeps an absolute BRISK_DATA_DIR as is', () => {
    expect(loadConfig({ BRISK_DATA_DIR: '/var/lib/brisk' }, CWD).dataDir).toBe('/var/lib/brisk');
  });
});

describe('loadConfig validation', () => {
  it.each([
    ['DATABASE_URL', 'mysql://db/shop'],
    ['DATABASE_URL', 'not a url'],
    ['REDIS_URL', 'http://cache:6379'],
    ['KAFKA_BROKERS', 'k1'],
    ['KAFKA_BROKERS', 'k1:9092,http://k2:9092'],
    ['TOPIC_PREFIX', 'cdc/x'],
    ['API_HOST', 'bad host'],
    ['API_PORT', '65536'],
    ['BRISK_API_URL', 'ftp://features'],
    ['BRISK_SESSION_SECRET', 'short'],
    ['BRISK_KAFKA_SCHEMAS', 'yes'],
    ['BRISK_KAFKA_PARTITION_KEY', 'User Id'],
    ['BRISK_ENGINE_GROUP', 'a/b'],
    ['BRISK_MAX_STREAMS', '0'],
    ['API_PORT', '-1'],
    ['API_PORT', '80.5'],
    ['API_PORT', 'eighty'],
    ['WEB_PORT', '70000'],
    ['WEB_HOST', 'bad host'],
    ['BRISK_WEB_BUDGET_MS', '0'],
    ['BRISK_API_TOKEN', '0123456789abcde'],
    ['BRISK_SOURCE_TABLE', 'user_activity'],
    ['BRISK_SOURCE_TABLE', 'Public.User_Activity'],
    ['BRISK_SOURCE_TABLE', 'a.b.c'],
    ['BRISK_PUBLICATION', 'Pub'],
    ['BRISK_SLOT', 'slot-1'],
    ['BRISK_LOG_LEVEL', 'verbose'],
    ['BRISK_REDIS_DURABILITY', 'always'],
    ['BRISK_DECIMAL_HANDLING', 'exact'],
    ['BRISK_HEARTBEAT_MS', '99'],
    ['BRISK_MAX_ROWS_PER_USER', '0'],
    ['BRISK_USER_TTL_S', '59'],
    ['BRISK_L1_MAX_MB', '65537'],
  ])('%s=%j is BRISK_CONFIG_INVALID naming the variable', (name, value) => {
    const { code, message } = failure({ [name]: value });
    expect(code).toBe('BRISK_CONFIG_INVALID');
    expect(message).toContain(name);
  });

  it('reports every problem in one message, one line each', () => {
    const { code, message } = failure({
      API_PORT: 'x',
      BRISK_LOG_LEVEL: 'loud',
      KAFKA_BROKERS: 'nohost',
      BRISK_SLOT: 'Bad-Slot',
    });
    expect(code).toBe('BRISK_CONFIG_INVALID');
    const lines = message.split('\n').slice(1);
    expect(lines).toHaveLength(4);
    for (const name of ['API_PORT', 'BRISK_LOG_LEVEL', 'KAFKA_BROKERS', 'BRISK_SLOT']) {
      expect(lines.filter((line) => line.includes(name))).toHaveLength(1);
    }
  });

  it('never echoes the API token in an error', () => {
    const { message } = failure({ BRISK_API_TOKEN: 'short-secret' });
    expect(message).toContain('BRISK_API_TOKEN');
    expect(message).not.toContain('short-secret');
  });

  it('rejects broker ports outside 1..65535', () => {
    expect([failure({ KAFKA_BROKERS: 'k1:70000' }).code, failure({ KAFKA_BROKERS: 'k1:0' }).code]).toEqual([
      'BRISK_CONFIG_INVALID',
      'BRISK_CONFIG_INVALID',
    ]);
  });
});

describe('API bind security', () => {
  it.each(['0.0.0.0', '::', '192.168.1.10', 'shop.example.com'])(
    'API_HOST=%s without a token is BRISK_CONFIG_INSECURE_BIND',
    (host) => {
      const { code, message } = failure({ API_HOST: host });
      expect(code).toBe('BRISK_CONFIG_INSECURE_BIND');
      expect(message).toContain(`API_HOST=${host}`);
      expect(message).toContain('BRISK_API_TOKEN');
    },
  );

  it('a non-loopback host is accepted with a 16-character token', () => {
    const config = loadConfig({ API_HOST: '0.0.0.0', BRISK_API_TOKEN: TOKEN }, CWD);
    expect(config.api).toEqual({ host: '0.0.0.0', port: 8080, token: TOKEN });
  });

  it.each(['127.0.0.1', '127.1.2.3', '::1', 'localhost'])('loopback %s needs no token', (host) => {
    expect(isLoopback(host)).toBe(true);
    expect(loadConfig({ API_HOST: host }, CWD).api).toEqual({ host, port: 8080, token: null });
  });

  it.each(['0.0.0.0', '::', '128.0.0.1', 'localhost.example.com', '::ffff:10.0.0.1'])(
    '%s is not loopback',
    (host) => {
      expect(isLoopback(host)).toBe(false);
    },
  );
});

describe('KAFKA_BROKERS', () => {
  it.each([
    ['k1:9092', ['k1:9092']],
    [' k1:9092 , k2:9093 ,', ['k1:9092', 'k2:9093']],
    ['k1:9092,,10.0.0.5:19092', ['k1:9092', '10.0.0.5:19092']],
    [',', []],
  ])('%j -> %j', (raw, brokers) => {
    expect(loadConfig({ KAFKA_BROKERS: raw }, CWD).kafkaBrokers).toEqual(brokers);
  });
});

describe('the config object', () => {
  it('is deeply frozen', () => {
    const config = loadConfig({ KAFKA_BROKERS: 'k1:9092' }, CWD);
    for (const part of [config, config.api, config.web, config.source, config.state, config.kafkaBrokers]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    expect(() => {
      (config.api as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => (config.kafkaBrokers as string[]).push('k2:9092')).toThrow(TypeError);
    expect(config.api.port).toBe(8080);
    expect(config.kafkaBrokers).toEqual(['k1:9092']);
  });

  it('does not read process.env when given an environment', () => {
    const saved = process.env.API_PORT;
    process.env.API_PORT = '1234';
    try {
      expect(loadConfig({}, CWD).api.port).toBe(8080);
    } finally {
      if (saved === undefined) delete process.env.API_PORT;
      else process.env.API_PORT = saved;
    }
  });
});
