import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  lastViewedBySql,
  REPO_ROOT,
  runCleanups,
  startTestRedis,
  type TestDatabase,
  waitFor,
} from '../support/harness.ts';
import { openSse } from '../support/sse.ts';
import {
  launchBrowser,
  login,
  sessionCookie,
  startTestStorefront,
  type TestStorefront,
} from '../support/web.ts';

/**
 * The storefront end to end: production build, the embedded pipeline on a real PostgreSQL and redis-server,
 * real Chromium. Rows are written by plain SQL (as the legacy application would) or by clicking in the page;
 * the page only changes because the pipeline pushes. Timing goals live in bench/web.ts: here latencies are
 * measured and printed, and only properties that hold on any machine are asserted.
 */
let db: TestDatabase;
let site: TestStorefront;
let browser: Browser;

interface Vector {
  userId: string;
  features: { lastViewedProduct: string | null; recentProducts: string[] };
  meta: { version: number; commitTs: string | null };
}

/** One entry of window.__briskPaints, appended by the page after each live repaint. */
interface Paint {
  version: number;
  commitTs: string | number | null;
  paintedAtMs: number;
  latencyMs: number | null;
}

/**
 * What the callbacks run inside the page touch. The project compiles without the DOM library, so page code
 * reads these through `globalThis as unknown as InPage`.
 */
interface InPage {
  document: { querySelector(selector: string): { getAttribute(name: string): string | null } | null };
  PerformanceObserver: new (
    callback: (list: { getEntries(): { duration: number }[] }) => void,
  ) => { observe(options: { type: string; buffered: boolean }): void };
  __briskPaints?: Paint[];
  __versionsSeen: number[];
  __longTasks: number[];
  __notReloaded?: boolean;
}

async function view(user: string, product: string): Promise<void> {
  await db.pool.query(
    "INSERT INTO user_activity (id, user_id, activity_type, product_id, activity_timestamp) VALUES ($1, $2, 'VIEW_PRODUCT', $3, now())",
    [randomUUID(), user, product],
  );
}

async function api<T>(route: string): Promise<T> {
  const response = await fetch(`${site.pipeline.apiUrl}${route}`);
  if (!response.ok) throw new Error(`${route}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

const vector = (user: string) => api<Vector>(`/api/v1/features/user/${encodeURIComponent(user)}`);

/** Waits until the API serves `product` as the user's last viewed product; returns that vector. */
function apiShows(user: string, product: string): Promise<Vector> {
  return waitFor(
    async () => {
      const body = await vector(user);
      return body.features.lastViewedProduct === product ? body : undefined;
    },
    { what: `the API to show ${product} for ${user}` },
  );
}

async function productName(id: string): Promise<string> {
  const { rows } = await db.pool.query('SELECT name FROM product WHERE id = $1', [id]);
  return rows[0].name as string;
}

const product = (n: number) => `prod-${String(n).padStart(3, '0')}`;

async function newUserPage(user: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await login(context, site.url, user);
  const page = await context.newPage();
  await page.goto(`${site.url}/`);
  return { context, page };
}

const testId = (id: string) => `[data-testid="${id}"]`;

/** The opening tags in server HTML that carry `data-testid="<id>"` (attributes in any order). */
function tagsIn(html: string, id: string): string[] {
  return [...html.matchAll(new RegExp(`<[^>]*data-testid="${id}"[^>]*>`, 'g'))].map((m) => m[0]);
}

const attribute = (tag: string, name: string) => new RegExp(` ${name}="([^"]*)"`).exec(tag)?.[1];

function waitForLastViewed(page: Page, productId: string, timeout = 10_000): Promise<unknown> {
  return page.waitForFunction(
    (expected) =>
      (globalThis as unknown as InPage).document
        .querySelector('[data-testid="last-viewed"]')
        ?.getAttribute('data-product-id') === expected,
    productId,
    { timeout },
  );
}

const paints = (page: Page) =>
  page.evaluate(() => ((globalThis as unknown as InPage).__briskPaints ?? []).slice());

/** Commit time in epoch ms (fractional: the API gives microseconds). */
function commitMs(commitTs: string | number): number {
  if (typeof commitTs === 'number') return commitTs;
  const fraction = /\.(\d+)Z$/.exec(commitTs)?.[1] ?? '0';
  return Math.floor(Date.parse(commitTs) / 1000) * 1000 + Number(`0.${fraction}`) * 1000;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * Records every value the page's data-version takes. A repaint stays on screen for at least a frame, so a
 * 4 ms poll sees each one, including a step back. (An anonymous callback: a named function inside page code
 * may be compiled to call a helper that exists only in Node.)
 */
async function recordVersions(page: Page): Promise<void> {
  await page.evaluate(() => {
    const inPage = globalThis as unknown as InPage;
    const seen: number[] = [];
    inPage.__versionsSeen = seen;
    setInterval(() => {
      const raw = inPage.document.querySelector('[data-testid="features"]')?.getAttribute('data-version');
      if (raw == null) return;
      const version = Number(raw);
      if (seen.length === 0 || seen[seen.length - 1] !== version) seen.push(version);
    }, 4);
  });
}

const versionsSeen = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as InPage).__versionsSeen.slice());

function expectNonDecreasing(values: number[]): void {
  for (const value of values) expect(Number.isFinite(value), `${value} in ${values}`).toBe(true);
  for (let i = 1; i < values.length; i++) {
    if (values[i]! < values[i - 1]!)
      throw new Error(`went back from ${values[i - 1]} to ${values[i]}: ${values}`);
  }
}

beforeAll(async () => {
  db = await createTestDatabase();
  const redis = await startTestRedis();
  // The first call builds the production bundle (tens of seconds); later runs reuse it.
  site = await startTestStorefront(db, redis.url, { budgetMs: 200 });
  browser = await launchBrowser();
}, 300_000);

afterAll(async () => {
  await runCleanups();
});

describe('server rendering', () => {
  it("renders the session user's last viewed product and recommendations in the initial HTML", async () => {
    const user = `ssr-${randomUUID()}`;
    const books = await db.pool.query("SELECT id FROM product WHERE category = 'books' ORDER BY id LIMIT 3");
    const viewed = books.rows.map((r) => r.id as string);
    for (const id of viewed) await view(user, id);
    const shown = await apiShows(user, viewed.at(-1)!);
    const expected = await api<{ items: { productId: string }[] }>(
      `/api/v1/recommendations/user/${user}?limit=100`,
    );

    const cookie = await sessionCookie(site.url, user);
    const response = await fetch(`${site.url}/`, { headers: { cookie } });
    expect(response.status).toBe(200);
    const html = await response.text();
    const [lastViewed] = tagsIn(html, 'last-viewed');
    expect(attribute(lastViewed ?? '', 'data-product-id')).toBe(viewed.at(-1));
    expect(html).toContain(await productName(viewed.at(-1)!));
    expect(attribute(tagsIn(html, 'features')[0] ?? '', 'data-version')).toBe(String(shown.meta.version));
    const shelf = html.slice(html.indexOf('data-testid="recommendations"'));
    const served = tagsIn(shelf.slice(0, shelf.indexOf('</section>')), 'product-card').map((tag) =>
      attribute(tag, 'data-product-id'),
    );
    expect(served.length).toBeGreaterThan(0);
    expect(served).toEqual(expected.items.slice(0, served.length).map((item) => item.productId));

    // The same page with JavaScript off in the browser: what a crawler or a slow device sees first.
    const context = await browser.newContext({ javaScriptEnabled: false });
    await login(context, site.url, user);
    const page = await context.newPage();
    await page.goto(`${site.url}/`);
    expect(await page.getAttribute(testId('last-viewed'), 'data-product-id')).toBe(viewed.at(-1));
    expect(await page.textContent(testId('last-viewed'))).toContain(viewed.at(-1));
    expect(Number(await page.getAttribute(testId('features'), 'data-version'))).toBe(shown.meta.version);
    const recommended = await page
      .locator(`${testId('recommendations')} ${testId('product-card')}`)
      .evaluateAll((cards) => cards.map((card) => card.getAttribute('data-product-id')));
    expect(recommended.length).toBeGreaterThan(0);
    // Personalised, not the fallback: the API's own ranking for this user (the decayed embedding's direction
    // does not change with time, so the ranking is stable between the two reads), and nothing just viewed.
    expect(recommended).toEqual(expected.items.slice(0, recommended.length).map((item) => item.productId));
    for (const id of viewed) expect(recommended).not.toContain(id);
    await context.close();
  });
});

describe('live updates', () => {
  it('repaints last-viewed for rows inserted by SQL, without reload, and shows commit -> paint latency', async () => {
    const user = `live-${randomUUID()}`;
    await view(user, product(1));
    await apiShows(user, product(1));
    const { context, page } = await newUserPage(user);
    await page.evaluate(() => {
      (globalThis as unknown as InPage).__notReloaded = true;
    });
    // Warm-up: the stream opens after the page loads; this update proves it is connected.
    await view(user, product(2));
    await waitForLastViewed(page, product(2));

    const versions: number[] = [];
    for (let i = 0; i < 24; i++) {
      const id = product(10 + i);
      await view(user, id);
      await waitForLastViewed(page, id);
      versions.push((await vector(user)).meta.version);
      expect(Number(await page.getAttribute(testId('features'), 'data-version'))).toBe(versions.at(-1));
    }
    expect(await page.evaluate(() => (globalThis as unknown as InPage).__notReloaded)).toBe(true);

    const painted = await paints(page);
    const latencies: number[] = [];
    for (const version of versions) {
      const paint = painted.find((p) => p.version === version);
      expect(paint, `a paint for version ${version}`).toBeDefined();
      expect(paint!.commitTs).not.toBeNull();
      latencies.push(paint!.paintedAtMs - commitMs(paint!.commitTs!));
    }
    expectNonDecreasing(painted.map((p) => p.version));
    for (const latency of latencies) expect(latency).toBeGreaterThan(0);
    const readout = (await page.textContent(testId('latency'))) ?? '';
    expect(readout).toMatch(/\d+(\.\d+)?\s*ms/);
    console.log(
      `web: commit -> paint over ${latencies.length} updates: p50 ${percentile(latencies, 50).toFixed(1)} ms, ` +
        `max ${Math.max(...latencies).toFixed(1)} ms (readout "${readout.trim()}")`,
    );
    await context.close();
  });

  it('clicking view-product writes the row through the legacy mapper and the push shows it', async () => {
    const user = `click-${randomUUID()}`;
    const { context, page } = await newUserPage(user);
    const card = page.locator(testId('product-card')).nth(1);
    const productId = (await card.getAttribute('data-product-id'))!;
    expect(productId).toMatch(/^prod-\d{3}$/);
    await card.locator(testId('view-product')).click();

    const rows = await waitFor(
      async () => {
        const result = await db.pool.query(
          'SELECT user_id, activity_type, product_id FROM user_activity WHERE user_id = $1',
          [user],
        );
        return result.rows.length > 0 ? result.rows : undefined;
      },
      { what: 'the clicked view in user_activity' },
    );
    expect(rows).toEqual([{ user_id: user, activity_type: 'VIEW_PRODUCT', product_id: productId }]);
    await waitForLastViewed(page, productId);
    expect(await page.textContent(testId('last-viewed'))).toContain(await productName(productId));
    const version = (await vector(user)).meta.version;
    // The change reached the page as a pushed vector, not as the action's own answer.
    expect((await paints(page)).some((p) => p.version === version)).toBe(true);
    await context.close();
  });

  it('a change made in another tab, or by SQL, updates the first tab', async () => {
    const user = `tabs-${randomUUID()}`;
    await view(user, product(100));
    await apiShows(user, product(100));
    const { context, page: first } = await newUserPage(user);
    const second = await context.newPage();
    await second.goto(`${site.url}/`);
    await view(user, product(101));
    await Promise.all([waitForLastViewed(first, product(101)), waitForLastViewed(second, product(101))]);

    const card = second.locator(`${testId('product-card')}:not([data-product-id="${product(101)}"])`).first();
    const clicked = (await card.getAttribute('data-product-id'))!;
    await card.locator(testId('view-product')).click();
    await Promise.all([waitForLastViewed(first, clicked), waitForLastViewed(second, clicked)]);

    await view(user, product(102));
    await Promise.all([waitForLastViewed(first, product(102)), waitForLastViewed(second, product(102))]);
    await context.close();
  });
});

describe('isolation', () => {
  it("never serves another user's features, whatever the request names", async () => {
    const attacker = `attacker-${randomUUID()}`;
    const victim = `victim-${randomUUID()}`;
    await view(attacker, product(1));
    await view(victim, product(299));
    await apiShows(attacker, product(1));
    await apiShows(victim, product(299));
    const cookie = await sessionCookie(site.url, attacker);
    const v = encodeURIComponent(victim);

    const checkPage = async (route: string, headers: Record<string, string> = {}) => {
      const response = await fetch(`${site.url}${route}`, {
        headers: { cookie, ...headers },
        redirect: 'manual',
      });
      const body = await response.text();
      expect(body, `${route} ${JSON.stringify(headers)}`).not.toContain(victim);
      if (response.status === 200 && body.includes('data-testid="last-viewed"')) {
        expect(attribute(tagsIn(body, 'last-viewed')[0]!, 'data-product-id'), route).toBe(product(1));
      }
    };
    const checkStream = async (route: string, headers: Record<string, string> = {}) => {
      const stream = await openSse(`${site.url}${route}`, { cookie, ...headers });
      try {
        if (stream.status !== 200) return;
        let event = await stream.next(5_000);
        while (event.event !== 'features') {
          expect(event.data, route).not.toContain(victim);
          event = await stream.next(5_000);
        }
        expect(event.data, route).not.toContain(victim);
        // The storefront sends its view of the vector: the API's answer under `snapshot`.
        const data = JSON.parse(event.data) as { snapshot: Vector };
        expect(data.snapshot.userId, route).toBe(attacker);
        expect(data.snapshot.features.lastViewedProduct, route).toBe(product(1));
      } finally {
        stream.close();
      }
    };

    for (const route of [`/?user=${v}`, `/?userId=${v}`, `/?user_id=${v}`, `/${v}`, `/user/${v}`]) {
      await checkPage(route);
    }
    for (const header of ['x-user-id', 'x-brisk-user', 'x-forwarded-user', 'x-remote-user']) {
      await checkPage('/', { [header]: victim });
      await checkStream('/live/features', { [header]: victim });
    }
    await checkPage('/', { authorization: `Bearer ${victim}` });
    for (const route of [
      `/live/features?user=${v}`,
      `/live/features?userId=${v}`,
      `/live/features/${v}`,
      `/live/features/user/${v}`,
      `/live/features/user-2`,
      `/api/v1/features/user/${v}`,
      `/api/v1/features/user/${v}/stream`,
    ]) {
      await checkStream(route);
    }

    // A cookie naming the victim, forged from the attacker's (signature kept) or tampered with: no session.
    const [name, value] = cookie.split('=') as [string, string];
    const forged: string[] = [
      `${name}=${victim}`,
      `${name}=${value.slice(0, -2)}${value.endsWith('AA') ? 'BB' : 'AA'}`,
    ];
    const parts = decodeURIComponent(value).split('.');
    parts.forEach((part, i) => {
      const decoded = Buffer.from(part, 'base64url').toString('utf8');
      if (!decoded.includes(attacker)) return;
      const copy = [...parts];
      copy[i] = Buffer.from(decoded.replace(attacker, victim), 'utf8').toString('base64url');
      forged.push(`${name}=${copy.join('.')}`);
    });
    expect(forged.length, 'the session cookie names its user in a readable part').toBe(3);
    for (const bad of forged) {
      const page = await fetch(`${site.url}/`, { headers: { cookie: bad }, redirect: 'manual' });
      expect(page.status, bad).toBeGreaterThanOrEqual(300);
      expect(page.status, bad).toBeLessThan(400);
      expect(page.headers.get('location'), bad).toMatch(/\/login/);
      expect(await page.text()).not.toContain(victim);
      const stream = await fetch(`${site.url}/live/features`, { headers: { cookie: bad } });
      expect(stream.status, bad).toBe(401);
      expect(await stream.text()).not.toContain(victim);
    }
  });

  it('without a session: / redirects to /login and /live/features is 401', async () => {
    const home = await fetch(`${site.url}/`, { redirect: 'manual' });
    expect([302, 303, 307]).toContain(home.status);
    expect(home.headers.get('location')).toMatch(/\/login/);
    const victim = `nosession-${randomUUID()}`;
    const named = await fetch(`${site.url}/?user=${victim}`, { redirect: 'manual' });
    expect([302, 303, 307]).toContain(named.status);
    const stream = await fetch(`${site.url}/live/features`);
    expect(stream.status).toBe(401);
    const streamNamed = await fetch(`${site.url}/live/features?user=${victim}`);
    expect(streamNamed.status).toBe(401);
  });
});

describe('feature API outage', () => {
  it('renders fallback content within budget, then the stream resumes to the newest state, never going back', async () => {
    const user = `outage-${randomUUID()}`;
    await view(user, product(50));
    await apiShows(user, product(50));
    const { context, page } = await newUserPage(user);
    await view(user, product(51));
    await waitForLastViewed(page, product(51));
    await recordVersions(page);
    await page.evaluate(() => {
      (globalThis as unknown as InPage).__notReloaded = true;
    });
    const cookie = await sessionCookie(site.url, user);

    try {
      // An API that accepts connections and never answers: rendering must give up after its budget.
      site.relay.stall();
      const started = performance.now();
      const response = await fetch(`${site.url}/`, { headers: { cookie } });
      const html = await response.text();
      const elapsed = performance.now() - started;
      expect(response.status).toBe(200);
      // A real card (the page also carries an empty card <template> for the live script to stamp).
      const cards = tagsIn(html, 'product-card').map((tag) => attribute(tag, 'data-product-id'));
      expect(cards.filter((id) => /^prod-\d{3}$/.test(id ?? '')).length).toBeGreaterThan(0);
      console.log(
        `web: fallback page with the API hanging in ${elapsed.toFixed(0)} ms (budget ${site.budgetMs} ms)`,
      );
      expect(elapsed).toBeLessThan(site.budgetMs + 1_000);

      // An API that refuses connections: a new tab still gets a usable page.
      await site.relay.cut();
      const fallback = await context.newPage();
      await fallback.goto(`${site.url}/`);
      expect(await fallback.locator(testId('product-card')).count()).toBeGreaterThan(0);
      await fallback.close();

      for (let i = 0; i < 5; i++) await view(user, product(60 + i));
      await apiShows(user, product(64));
      // The open page really lost its stream: it says so and still shows what it had.
      await page.waitForSelector('[data-slot="live-status"][data-state="retrying"]', { timeout: 5_000 });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(await page.getAttribute(testId('last-viewed'), 'data-product-id')).toBe(product(51));
    } finally {
      await site.relay.restore();
    }

    const truth = await lastViewedBySql(db.pool, user);
    expect(truth).toEqual([product(64)]);
    const newest = (await vector(user)).meta.version;
    await waitForLastViewed(page, product(64), 30_000);
    await page.waitForFunction(
      (v) =>
        Number(
          (globalThis as unknown as InPage).document
            .querySelector('[data-testid="features"]')
            ?.getAttribute('data-version'),
        ) === v,
      newest,
      { timeout: 10_000 },
    );
    expect(await page.evaluate(() => (globalThis as unknown as InPage).__notReloaded)).toBe(true);
    expectNonDecreasing(await versionsSeen(page));
    expectNonDecreasing((await paints(page)).map((p) => p.version));
    expect((await paints(page)).at(-1)?.version).toBe(newest);
    await context.close();
  });
});

describe('resumability', () => {
  it('loads under 50 KB of JavaScript before the first interaction', async () => {
    const user = `resume-${randomUUID()}`;
    await view(user, product(7));
    await apiShows(user, product(7));
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await login(context, site.url, user);
    await context.addInitScript(() => {
      const tasks: number[] = [];
      (globalThis as unknown as InPage).__longTasks = tasks;
      new (globalThis as unknown as InPage).PerformanceObserver((list) => {
        for (const entry of list.getEntries()) tasks.push(entry.duration);
      }).observe({ type: 'longtask', buffered: true });
    });
    const scripts: Promise<{ url: string; bytes: number }>[] = [];
    // Context-wide, so scripts a service worker fetches to prefetch count too; responses a worker serves from
    // its cache did not cross the network and are not counted twice.
    context.on('response', (response) => {
      const type = response.request().resourceType();
      const contentType = response.headers()['content-type'] ?? '';
      if (response.fromServiceWorker()) return;
      if (type !== 'script' && !contentType.includes('javascript')) return;
      scripts.push(
        response
          .request()
          .sizes()
          .then((sizes) => ({
            url: response.url(),
            bytes: sizes.responseBodySize + sizes.responseHeadersSize,
          })),
      );
    });
    const page = await context.newPage();
    const response = await page.goto(`${site.url}/`, { waitUntil: 'load' });
    const html = (await response?.text()) ?? '';
    // Prefetching happens at idle after load; nothing has been clicked or typed.
    await page.waitForTimeout(2_000);
    const external = await Promise.all(scripts);
    const inline = [...html.matchAll(/<script(?![^>]*type="qwik\/json")[^>]*>([\s\S]*?)<\/script>/g)].reduce(
      (sum, match) => sum + Buffer.byteLength(match[1]!),
      0,
    );
    const externalBytes = external.reduce((sum, s) => sum + s.bytes, 0);
    const longTasks = await page.evaluate(() => (globalThis as unknown as InPage).__longTasks);
    console.log(
      `web: JS before first interaction ${((externalBytes + inline) / 1024).toFixed(1)} KB ` +
        `(${external.length} script responses ${(externalBytes / 1024).toFixed(1)} KB + inline ${(inline / 1024).toFixed(1)} KB); ` +
        `long tasks on load: ${longTasks.length} ${JSON.stringify(longTasks.map(Math.round))}`,
    );
    // Resumability means the page does not download and run the components' code to become interactive:
    // a byte bound holds on any machine, so it is asserted. Long tasks are printed, not asserted: their length
    // is wall-clock time on a 2-core machine shared with PostgreSQL, Redis and the pipeline, so a task may
    // cross 50 ms because another process held the core. The benchmark reports them against the 0 target.
    expect(externalBytes + inline).toBeLessThan(50 * 1024);
    await context.close();
  });
});

describe('dashboard', () => {
  it('renders pipeline stats server-side and updates them under traffic', async () => {
    const cookie = await sessionCookie(site.url, `dash-${randomUUID()}`);
    const response = await fetch(`${site.url}/live`, { headers: { cookie } });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('data-testid="dashboard"');
    for (const stat of [
      'stat-events',
      'stat-lag',
      'stat-store-p50',
      'stat-store-p99',
      'stat-serve-p50',
      'stat-serve-p99',
      'stat-l1',
      'stat-streams',
    ]) {
      expect(html, stat).toMatch(new RegExp(`data-testid="${stat}"`));
    }
    expect(attribute(tagsIn(html, 'stat-events')[0] ?? '', 'data-value')).toMatch(/^\d+(\.\d+)?$/);

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await login(context, site.url, `dash-${randomUUID()}`);
    const page = await context.newPage();
    await page.goto(`${site.url}/live`);
    const before = Number(await page.getAttribute(testId('stat-events'), 'data-value'));
    expect(Number.isFinite(before)).toBe(true);
    let n = 0;
    await waitFor(
      async () => {
        await view(`dash-traffic-${n++ % 5}`, product(1 + (n % 300)));
        const now = Number(await page.getAttribute(testId('stat-events'), 'data-value'));
        return now !== before && Number.isFinite(now);
      },
      { timeoutMs: 15_000, intervalMs: 100, what: 'stat-events to change under traffic' },
    );
    await context.close();
  });
});

describe('screenshots', () => {
  it('saves full-page screenshots of / and /live at 1280 px', async () => {
    const dir = path.join(REPO_ROOT, 'test-results');
    await mkdir(dir, { recursive: true });
    const user = `shot-${randomUUID()}`;
    for (const n of [12, 45, 45, 78, 12]) await view(user, product(n));
    await apiShows(user, product(12));
    const { context, page } = await newUserPage(user);
    await view(user, product(33));
    await waitForLastViewed(page, product(33));
    await page.screenshot({ path: path.join(dir, 'web-storefront.png'), fullPage: true });
    await page.goto(`${site.url}/live`);
    await page.waitForSelector(testId('dashboard'));
    await page.waitForTimeout(1_500);
    await page.screenshot({ path: path.join(dir, 'web-live.png'), fullPage: true });
    expect(page.viewportSize()?.width).toBe(1280);
    await context.close();
  });
});

describe('bad input', () => {
  it('answers an invalid login id with a clear 400 and no session', async () => {
    for (const id of ['', 'x'.repeat(300), 'a\u0001b', 'line\nbreak']) {
      const response = await fetch(`${site.url}/login?user=${encodeURIComponent(id)}`, {
        redirect: 'manual',
      });
      const body = await response.text();
      expect(response.status, JSON.stringify(id)).toBe(400);
      expect(response.headers.getSetCookie(), JSON.stringify(id)).toEqual([]);
      expect(body.length).toBeGreaterThan(0);
      expect(body).toMatch(/user/i);
    }
    // A valid id that is markup is shown as text, never run.
    const markup = '<img src=x onerror="globalThis.__xss=1">';
    const context = await browser.newContext();
    await login(context, site.url, markup);
    const page = await context.newPage();
    await page.goto(`${site.url}/`);
    expect(await page.locator('h1').textContent()).toContain(markup);
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
    await context.close();
    // Still serving after all of it.
    expect((await fetch(`${site.url}/login?user=ok-${randomUUID()}`, { redirect: 'manual' })).status).toBe(
      302,
    );
  });

  it('refuses a view for a forged product id and writes nothing', async () => {
    const user = `forge-${randomUUID()}`;
    const { context, page } = await newUserPage(user);
    // The View button sends the product id it carries; a shopper can edit it in the page.
    const button = page.locator(`${testId('product-card')} ${testId('view-product')}`).first();
    const toast = page.locator('[data-slot="toast"]');
    for (const forged of ['prod-999', 'x'.repeat(300), 'prod-\u0001', "prod-001' OR '1'='1", '']) {
      await button.evaluate((element, id) => element.setAttribute('data-product-id', id), forged);
      const answered = page.waitForResponse((r) => r.request().method() === 'POST');
      await button.click();
      const answer = await answered;
      expect(answer.status(), JSON.stringify(forged)).toBeLessThan(500);
      await expect.poll(() => toast.getAttribute('data-kind')).toBe('error');
      expect(await toast.isVisible()).toBe(true);
      const message = (await toast.textContent()) ?? '';
      expect(message, JSON.stringify(forged)).toMatch(/product/i);
      await toast.evaluate((element) => element.setAttribute('data-kind', ''));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const { rows } = await db.pool.query('SELECT product_id FROM user_activity WHERE user_id = $1', [user]);
    expect(rows).toEqual([]);
    expect(await page.getAttribute(testId('last-viewed'), 'data-product-id')).toBe('');
    await context.close();
  });
});
