/** Pieces shared by the benchmark scripts: load generation, the visibility probe, summaries, the machine. */
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { access, chmod, readdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseLsn } from '@brisk/core';
import type pg from 'pg';
import { LogicalReplicationService, PgoutputPlugin } from 'pg-logical-replication';

const ROOT = path.resolve(import.meta.dirname, '..');

export const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function summary(samplesMs: number[]) {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const round = (v: number) => Math.round(v * 100) / 100;
  return {
    n: sorted.length,
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? Number.NaN),
  };
}

export async function findPgbench(): Promise<string | null> {
  const candidates = (process.env.PATH ?? '').split(':').map((dir) => path.join(dir, 'pgbench'));
  for (const version of await readdir('/usr/lib/postgresql').catch(() => [] as string[])) {
    candidates.push(`/usr/lib/postgresql/${version}/bin/pgbench`);
  }
  for (const candidate of candidates) {
    try {
      await access(candidate, 1);
      execFileSync(candidate, ['--version']);
      return candidate;
    } catch {}
  }
  return null;
}

/** Single-row autocommit inserts at `rate` per second for `seconds`, each for a fresh user, from another process. */
export async function load(
  pgbench: string | null,
  url: string,
  rate: number,
  seconds: number,
  prefix: string,
  dir: string,
): Promise<number> {
  const run = (command: string, args: string[], env: NodeJS.ProcessEnv) =>
    new Promise<string>((resolve, reject) => {
      const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.on('exit', (code) =>
        code === 0 ? resolve(output) : reject(new Error(`${command} failed:\n${output}`)),
      );
    });
  if (pgbench) {
    const script = path.join(dir, 'insert.sql');
    await writeFile(
      script,
      "INSERT INTO user_activity VALUES (gen_random_uuid(), 'r' || :rate || '-' || nextval('bench_user'), 'VIEW_PRODUCT', " +
        "'prod-' || (random() * 299)::int, now());\n",
    );
    await chmod(script, 0o644);
    const u = new URL(url);
    const output = await run(
      pgbench,
      [
        '-n',
        '-c',
        '8',
        '-j',
        '2',
        '-R',
        String(rate),
        '-T',
        String(seconds),
        '-D',
        `rate=${rate}`,
        '-f',
        script,
        '-h',
        u.hostname,
        '-p',
        u.port,
        '-U',
        decodeURIComponent(u.username),
        u.pathname.slice(1),
      ],
      { ...process.env, PGPASSWORD: decodeURIComponent(u.password) },
    );
    return Number(/tps = ([\d.]+)/.exec(output)?.[1] ?? Number.NaN);
  }
  const output = await run(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'bench/load.ts'), url, String(rate), String(seconds), prefix],
    process.env,
  );
  return (JSON.parse(output.trim().split('\n').at(-1)!) as { achievedRate: number }).achievedRate;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

export function getJson<T>(url: string): Promise<T> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => resolve(JSON.parse(body) as T));
      })
      .on('error', reject);
  });
}

/**
 * Every ~20 ms: a new view for the probe user. One request waits for the user's next version
 * (`?minVersion=`), sent before the insert; the feature is visible when its answer arrives.
 */
export async function probe(pool: pg.Pool, apiUrl: string, stop: () => boolean): Promise<number[]> {
  type Body = { features: { lastViewedProduct: string }; meta: { version: number; commitTs: string } };
  const url = `${apiUrl}/api/v1/features/user/bench-probe`;
  const samples: number[] = [];
  let n = 0;
  while (!stop()) {
    const product = `probe-${n++}`;
    const { meta } = await getJson<Body>(url);
    const visible = getJson<Body>(`${url}?minVersion=${meta.version + 1}&waitMs=5000`);
    const inserted = pool.query(
      'INSERT INTO user_activity (id, user_id, activity_type, product_id, activity_timestamp) VALUES ($1,$2,$3,$4,now())',
      [randomUUID(), 'bench-probe', 'VIEW_PRODUCT', product],
    );
    const body = await visible;
    const received = nowUs();
    if (body.features.lastViewedProduct !== product)
      throw new Error(`probe ${product} not visible within 5 s`);
    samples.push((received - isoToUs(body.meta.commitTs)) / 1000);
    await inserted;
    await sleep(20);
  }
  return samples;
}

export function isoToUs(iso: string): number {
  const match = /\.(\d+)Z$/.exec(iso);
  const fraction = match ? Number(match[1]!.padEnd(6, '0').slice(0, 6)) : 0;
  return Math.floor(Date.parse(iso) / 1000) * 1_000_000 + fraction;
}

export function machine() {
  const cpus = os.cpus();
  const version = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8' }).trim().split('\n')[0];
    } catch {
      return 'unknown';
    }
  };
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    redis: version('redis-server', ['--version']),
    os: `${os.type()} ${os.release()}`,
  };
}

export async function currentLsn(pool: pg.Pool): Promise<number> {
  return parseLsn((await pool.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn);
}

export async function confirmedLsn(pool: pg.Pool, slot: string): Promise<number> {
  const { rows } = await pool.query(
    'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
    [slot],
  );
  return rows[0] ? parseLsn(rows[0].lsn) : 0;
}

export async function insertBacklog(pool: pg.Pool, count: number): Promise<void> {
  // One row per transaction, like the legacy application; 16 writers keep PostgreSQL's group commit busy.
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < count) {
        const n = next++;
        await pool.query(
          'INSERT INTO user_activity (id, user_id, activity_type, product_id, activity_timestamp) VALUES ($1,$2,$3,$4,now())',
          [
            randomUUID(),
            `backlog-${n % 50_000}`,
            n % 10 < 7 ? 'VIEW_PRODUCT' : 'CLICK_PRODUCT',
            `prod-${n % 300}`,
          ],
        );
      }
    }),
  );
}

/** The baseline: pg-logical-replication with its pgoutput plugin draining a slot, doing nothing per row. */
export async function bareDrain(url: string, slot: string, rows: number): Promise<number> {
  const service = new LogicalReplicationService(
    { connectionString: url },
    { acknowledge: { auto: true, timeoutSeconds: 1 } },
  );
  const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: ['dbz_publication'] });
  let seen = 0;
  let started = 0;
  const done = new Promise<number>((resolve) => {
    service.on('data', (_lsn: string, message: { tag: string }) => {
      if (message.tag !== 'insert') return;
      if (seen++ === 0) started = performance.now();
      if (seen === rows) resolve(rows / ((performance.now() - started) / 1000));
    });
  });
  service.subscribe(plugin, slot).catch(() => {});
  const rate = await done;
  await service.stop();
  return rate;
}
