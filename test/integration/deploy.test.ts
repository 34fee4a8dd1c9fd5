import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT, runCleanups, tempDir } from '../support/harness.ts';

/**
 * The reference deployment in deploy/: the compose file as Compose itself resolves it (`config` needs no Docker
 * engine), and the Debezium connector config it registers, checked against each other.
 */
const DEPLOY = path.join(REPO_ROOT, 'deploy');
const COMPOSE_FILE = path.join(DEPLOY, 'docker-compose.yml');
const SECRETS = {
  BRISK_API_TOKEN: 'test-token-0123456789',
  POSTGRES_PASSWORD: 'test-password-9876543210',
  BRISK_SESSION_SECRET: 'test-session-secret-0123456789abcdef',
};

interface Service {
  image?: string;
  command?: string[] | string;
  environment?: Record<string, string | null>;
  depends_on?: Record<string, { condition: string }>;
  volumes?: (string | { source?: string; target: string })[];
}
interface ResolvedCompose {
  services: Record<string, Service>;
}
interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', (error) => resolve({ code: null, stdout, stderr: String(error) }));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Compose v2 (`docker compose`, JSON output) when it works, else v1 (`docker-compose`, YAML output). */
async function findCompose(): Promise<{ command: string; prefix: string[]; json: boolean }> {
  if ((await run('docker', ['compose', 'version'])).code === 0) {
    return { command: 'docker', prefix: ['compose'], json: true };
  }
  if ((await run('docker-compose', ['version'])).code === 0) {
    return { command: 'docker-compose', prefix: [], json: false };
  }
  throw new Error(
    'Neither `docker compose` nor `docker-compose` works; install one (Debian/Ubuntu: apt-get install docker-compose).',
  );
}

let compose: Awaited<ReturnType<typeof findCompose>>;
let emptyEnvFile: string;

/** `config` with exactly the given variables: no inherited secrets, and an empty env file instead of deploy/.env. */
function composeConfig(variables: Record<string, string>): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...variables };
  for (const name of Object.keys(SECRETS)) if (!(name in variables)) delete env[name];
  const args = [...compose.prefix, '-f', COMPOSE_FILE, '--env-file', emptyEnvFile, 'config'];
  return run(compose.command, compose.json ? [...args, '--format', 'json'] : args, env);
}

let resolved: ResolvedCompose;
let connector: { name: string; config: Record<string, string> };

beforeAll(async () => {
  compose = await findCompose();
  emptyEnvFile = path.join(await tempDir('brisk-deploy-'), 'empty.env');
  await writeFile(emptyEnvFile, '');
  const result = await composeConfig(SECRETS);
  if (result.code !== 0) throw new Error(`compose config failed (${result.code}):\n${result.stderr}`);
  resolved = (compose.json ? JSON.parse(result.stdout) : parse(result.stdout)) as ResolvedCompose;
  connector = JSON.parse(await readFile(path.join(DEPLOY, 'pg-connector.json'), 'utf8'));
});
afterAll(runCleanups);

function service(name: string): Service {
  const found = resolved.services[name];
  if (!found) throw new Error(`service ${name} missing from the resolved compose file`);
  return found;
}

function commandLine(s: Service): string {
  return Array.isArray(s.command) ? s.command.join(' ') : (s.command ?? '');
}

function briskServices(): [string, Service][] {
  return Object.entries(resolved.services).filter(([, s]) => s.image === 'brisk:local');
}

describe('deploy/docker-compose.yml', () => {
  it('runs every service of the reference deployment', () => {
    const names = Object.keys(resolved.services).sort();
    expect(names).toEqual(
      [
        'connect',
        'connector-init',
        'engine-1',
        'engine-2',
        'kafka',
        'postgres',
        'redis',
        'serve-1',
        'serve-2',
        'web',
      ].sort(),
    );
    const roles = briskServices().map(([, s]) => commandLine(s));
    expect(roles.sort()).toEqual(['engine', 'engine', 'serve', 'serve', 'web']);
    expect(service('kafka').image).toBe('apache/kafka:3.8.0');
    expect(service('connect').image).toMatch(/^quay\.io\/debezium\/connect:2\.7/);
  });

  it('starts PostgreSQL with logical WAL and the seed schema', async () => {
    const postgres = service('postgres');
    expect(commandLine(postgres)).toContain('wal_level=logical');
    const init = postgres.volumes?.find((v) =>
      (typeof v === 'string' ? v : v.target).includes('/docker-entrypoint-initdb.d/'),
    );
    expect(init).toBeDefined();
    const sql = await readFile(path.join(DEPLOY, 'init.sql'), 'utf8');
    expect(sql).toMatch(/CREATE TABLE user_activity \(\s*id UUID PRIMARY KEY,/);
    expect(sql).toMatch(/activity_timestamp TIMESTAMPTZ/);
    expect(sql).toMatch(/CREATE TABLE product \(\s*id VARCHAR\(255\) PRIMARY KEY,/);
    expect(sql).toMatch(/price NUMERIC\(10,2\)/);
    expect(sql).toMatch(
      new RegExp(
        `CREATE PUBLICATION ${connector.config['publication.name']} FOR TABLE user_activity, product;`,
      ),
    );
  });

  it('gives every Brisk process Kafka, Redis, the topic prefix and the API token', () => {
    expect(briskServices()).toHaveLength(5);
    for (const [name, s] of briskServices()) {
      const env = s.environment ?? {};
      expect({ name, brokers: env.KAFKA_BROKERS }).toEqual({ name, brokers: 'kafka:9092' });
      expect({ name, redis: env.REDIS_URL }).toEqual({ name, redis: 'redis://redis:6379' });
      expect({ name, prefix: env.TOPIC_PREFIX }).toEqual({ name, prefix: connector.config['topic.prefix'] });
      expect({ name, host: env.API_HOST }).toEqual({ name, host: '0.0.0.0' });
      expect({ name, token: env.BRISK_API_TOKEN }).toEqual({ name, token: SECRETS.BRISK_API_TOKEN });
      expect(env.DATABASE_URL).toBe(`postgres://postgres:${SECRETS.POSTGRES_PASSWORD}@postgres:5432/app_db`);
    }
    for (const name of ['engine-1', 'engine-2']) {
      expect(service(name).depends_on).toMatchObject({
        kafka: { condition: 'service_healthy' },
        redis: { condition: 'service_healthy' },
        'connector-init': { condition: 'service_completed_successfully' },
      });
    }
    expect(service('connector-init').depends_on).toMatchObject({ connect: { condition: 'service_healthy' } });
  });

  it('serves the storefront with brisk web, bound inside its container, with a shared session key', () => {
    const web = service('web');
    expect(commandLine(web)).toBe('web');
    expect(web.environment?.WEB_HOST).toBe('0.0.0.0');
    expect(web.environment?.BRISK_SESSION_SECRET).toBe(SECRETS.BRISK_SESSION_SECRET);
    expect(web.environment?.BRISK_API_URL).toBe('http://serve-1:8080');
  });

  it('keeps Redis writes on disk before they are acknowledged', () => {
    expect(commandLine(service('redis'))).toMatch(/--appendonly yes --appendfsync always/);
  });

  it('refuses to resolve without BRISK_API_TOKEN, POSTGRES_PASSWORD or BRISK_SESSION_SECRET', async () => {
    const { BRISK_API_TOKEN, POSTGRES_PASSWORD, BRISK_SESSION_SECRET } = SECRETS;
    const noToken = await composeConfig({ POSTGRES_PASSWORD, BRISK_SESSION_SECRET });
    expect(noToken.code).not.toBe(0);
    expect(noToken.stderr).toContain('set BRISK_API_TOKEN');
    const noPassword = await composeConfig({ BRISK_API_TOKEN, BRISK_SESSION_SECRET });
    expect(noPassword.code).not.toBe(0);
    expect(noPassword.stderr).toContain('set POSTGRES_PASSWORD');
    const noSessionKey = await composeConfig({ BRISK_API_TOKEN, POSTGRES_PASSWORD });
    expect(noSessionKey.code).not.toBe(0);
    expect(noSessionKey.stderr).toContain('set BRISK_SESSION_SECRET');
  });
});

describe('deploy/pg-connector.json', () => {
  it('is a Debezium 2.x PostgreSQL connector config', () => {
    const config = connector.config;
    expect(config['connector.class']).toBe('io.debezium.connector.postgresql.PostgresConnector');
    expect(config['topic.prefix']).toBe('cdc');
    expect(config).not.toHaveProperty('database.server.name');
    expect(config['plugin.name']).toBe('pgoutput');
    expect(config['publication.name']).toBe('dbz_publication');
    expect(config['table.include.list']).toBe('public.user_activity,public.product');
    expect(config['value.converter.schemas.enable']).toBe('false');
    expect(config['slot.drop.on.stop']).toBe('false');
    expect(config['decimal.handling.mode']).toBe('string');
    expect(Number(config['heartbeat.interval.ms'])).toBeGreaterThan(0);
  });

  it('holds no password: Connect resolves it from its environment', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Kafka Connect's config-provider syntax, not a template.
    expect(connector.config['database.password']).toBe('${env:POSTGRES_PASSWORD}');
    const env = service('connect').environment ?? {};
    expect(env.CONNECT_CONFIG_PROVIDERS).toBe('env');
    expect(env.CONNECT_CONFIG_PROVIDERS_ENV_CLASS).toBe(
      'org.apache.kafka.common.config.provider.EnvVarConfigProvider',
    );
    expect(env.POSTGRES_PASSWORD).toBe(SECRETS.POSTGRES_PASSWORD);
    const mounted = service('connector-init').volumes?.some((v) =>
      (typeof v === 'string' ? v : (v.source ?? '')).includes('pg-connector.json'),
    );
    expect(mounted).toBe(true);
  });
});
