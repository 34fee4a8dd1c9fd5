/**
 * Fallback load generator for bench/e2e.ts when pgbench is not installed: single-row autocommit inserts at a
 * fixed rate, each for a fresh user, in its own process so the measuring process stays idle.
 *   node --import tsx bench/load.ts <databaseUrl> <rate> <seconds> <userPrefix>
 * Prints {"achievedRate": n} when done.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';

const [url, rateText, secondsText, prefix] = process.argv.slice(2);
const rate = Number(rateText);
const total = Math.round(rate * Number(secondsText));
const pool = new pg.Pool({ connectionString: url, max: 16 });
const started = performance.now();
let issued = 0;
const inFlight = new Set<Promise<unknown>>();
while (issued < total) {
  const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
  while (issued < due && inFlight.size < 64) {
    const n = issued++;
    const p = pool
      .query('INSERT INTO user_activity VALUES ($1, $2, $3, $4, now())', [
        randomUUID(),
        `${prefix}${n}`,
        'VIEW_PRODUCT',
        `prod-${n % 300}`,
      ])
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await new Promise((resolve) => setTimeout(resolve, 1));
}
await Promise.all(inFlight);
console.log(JSON.stringify({ achievedRate: total / ((performance.now() - started) / 1000) }));
await pool.end();
