import { component$ } from '@builder.io/qwik';
import { type DocumentHead, type RequestHandler, routeLoader$ } from '@builder.io/qwik-city';
import { commitTimeMs } from '../app/commit-time.ts';
import { liveClient } from '../app/live-client.tsx';
import { type FeatureSnapshot, type Product, SESSION_COOKIE, services } from '../app/services.ts';
import type { ShopView } from '../app/view.ts';
import { onRefreshClick } from '../components/shop/actions.tsx';
import { ShopFooter, ShopHeader } from '../components/shop/header.tsx';
import { ProductCard, slug } from '../components/shop/product-card.tsx';

const GRID_SIZE = 24;
/** The page's live script: liveClient's compiled source, called with the commit time parser. */
const LIVE_SCRIPT = `(${liveClient.toString()})(${commitTimeMs.toString()});`;

export const onGet: RequestHandler = ({ cookie, redirect, headers }) => {
  if (services().sessionUser(cookie.get(SESSION_COOKIE)?.value) === null) throw redirect(302, '/login');
  // Personal, and stale as soon as the next change commits.
  headers.set('cache-control', 'no-store');
};

interface Storefront {
  readonly view: ShopView;
  readonly grid: readonly Product[];
  readonly categories: readonly string[];
  readonly category: string | null;
}

export const useStorefront = routeLoader$(async ({ cookie, redirect, url }): Promise<Storefront> => {
  const s = services();
  const userId = s.sessionUser(cookie.get(SESSION_COOKIE)?.value);
  if (userId === null) throw redirect(302, '/login');
  const [view, catalogue] = await Promise.all([
    s.view(userId, AbortSignal.timeout(s.budgetMs)),
    s.catalogue(),
  ]);
  const categories = [...new Set(catalogue.map((product) => product.category))].sort();
  const asked = url.searchParams.get('category');
  const category = asked !== null && categories.includes(asked) ? asked : null;
  const grid =
    category === null
      ? catalogue.slice(0, GRID_SIZE)
      : catalogue.filter((product) => product.category === category);
  return { view, grid, categories, category };
});

function counter(snapshot: FeatureSnapshot | null, name: string): string {
  const value = snapshot?.features[name];
  return typeof value === 'number' ? String(value) : '–';
}

export default component$(() => {
  const { view, grid, categories, category } = useStorefront().value;
  const features = view.features;
  const snapshot = features?.snapshot ?? null;
  const lastId = snapshot?.features.lastViewedProduct ?? null;
  const lastProduct = lastId === null ? undefined : features?.products[lastId];
  const recommended = view.recommendations?.items ?? null;
  const shelf =
    recommended ??
    view.popular.map((product) => ({
      product,
      reason: 'popular right now',
      score: 0,
    }));

  return (
    <div class="shop">
      <ShopHeader userId={view.userId} />
      <main class="page">
        <section class="hero">
          <div>
            <h1>Hello, {view.userId}</h1>
            <p class="muted">
              Everything below follows what you do, live: view a product and watch it change.
            </p>
          </div>
          <div class="live-bar">
            <span class="live-dot" data-slot="live-status" data-state="connecting">
              Connecting…
            </span>
            <span class="latency" title="Commit to paint of the last update">
              commit → paint <b data-testid="latency">–</b>
            </span>
            <button
              type="button"
              class="btn btn-small btn-ghost"
              data-testid="refresh"
              onClick$={onRefreshClick}
            >
              Refresh
            </button>
          </div>
        </section>

        <p class="notice" data-slot="notice" role="status" hidden={features !== null}>
          Personal picks are catching up — showing popular products for now; they fill in as soon as the
          feature service answers.
        </p>
        <p class="toast" data-slot="toast" role="status" aria-live="polite" hidden />

        <div
          class={features === null ? 'features is-fallback' : 'features'}
          data-testid="features"
          data-version={String(snapshot?.meta.version ?? -1)}
          data-recommendations-version={String(view.recommendations?.version ?? -1)}
        >
          <section class="panel insight">
            <div class="insight-main">
              <h2 class="panel-title">Last viewed</h2>
              <p
                class="last-viewed"
                data-testid="last-viewed"
                data-slot="last-viewed"
                data-product-id={lastId ?? ''}
              >
                <span class="last-viewed-name" data-slot="last-viewed-name">
                  {lastId === null ? 'Nothing yet' : (lastProduct?.name ?? 'Unknown product')}
                </span>
                <span class="last-viewed-id" data-slot="last-viewed-id">
                  {lastId ?? '—'}
                </span>
              </p>
            </div>
            <dl class="counters">
              <div>
                <dt>Views · 30 s</dt>
                <dd data-feature="viewCount30s">{counter(snapshot, 'viewCount30s')}</dd>
              </div>
              <div>
                <dt>Clicks · 30 s</dt>
                <dd data-feature="clickCount30s">{counter(snapshot, 'clickCount30s')}</dd>
              </div>
              <div>
                <dt>Views · 5 min</dt>
                <dd data-feature="viewCount5m">{counter(snapshot, 'viewCount5m')}</dd>
              </div>
            </dl>
            <div class="top-categories">
              <h2 class="panel-title">Top categories · 5 min</h2>
              <ul class="tags" data-slot="top-categories">
                {(snapshot?.features.topCategories5m ?? []).map(({ category: name, count }) => (
                  <li key={name} class={`tag cat-${slug(name)}`}>
                    {name} <b>{count}</b>
                  </li>
                ))}
                {(snapshot?.features.topCategories5m ?? []).length === 0 && (
                  <li class="muted">No activity in the last 5 minutes</li>
                )}
              </ul>
            </div>
          </section>

          <section class="row">
            <h2 class="row-title" data-slot="recommendations-title">
              {recommended === null ? 'Popular right now' : 'Recommended for you'}
            </h2>
            <div class="cards" data-testid="recommendations">
              {shelf.map((item) => (
                <ProductCard key={item.product.id} product={item.product} reason={item.reason} />
              ))}
            </div>
          </section>

          <section
            class="row"
            data-slot="because"
            hidden={lastProduct === undefined || features?.because.length === 0}
          >
            <h2 class="row-title">
              Because you viewed <span data-slot="because-name">{lastProduct?.name ?? ''}</span>
            </h2>
            <div class="cards" data-slot="because-items">
              {(features?.because ?? []).map((product) => (
                <ProductCard key={product.id} product={product} reason={`Also in ${product.category}`} />
              ))}
            </div>
          </section>

          <section class="row">
            <h2 class="row-title">Recently viewed</h2>
            <ul class="chips" data-slot="recent">
              {(snapshot?.features.recentProducts ?? []).map((productId) => {
                const product = features?.products[productId];
                return (
                  <li
                    key={productId}
                    class={`chip cat-${slug(product?.category ?? 'unknown')}`}
                    data-product-id={productId}
                  >
                    {product?.name ?? productId}
                  </li>
                );
              })}
              {(snapshot?.features.recentProducts ?? []).length === 0 && (
                <li class="muted">Products you look at appear here.</li>
              )}
            </ul>
          </section>
        </div>

        <section class="row catalogue">
          <div class="row-head">
            <h2 class="row-title">{category === null ? 'Shop the catalogue' : `Shop ${category}`}</h2>
            <nav class="categories" aria-label="Categories">
              <a href="/" class={category === null ? 'is-current' : ''}>
                All
              </a>
              {categories.map((name) => (
                <a
                  key={name}
                  href={`/?category=${encodeURIComponent(name)}`}
                  class={name === category ? 'is-current' : ''}
                >
                  {name}
                </a>
              ))}
            </nav>
          </div>
          {grid.length === 0 ? (
            <p class="muted">The catalogue is not available right now.</p>
          ) : (
            <div class="cards cards-grid">
              {grid.map((product) => (
                <ProductCard key={product.id} product={product} />
              ))}
            </div>
          )}
        </section>
      </main>
      <ShopFooter />
      <template data-slot="card-template">
        <ProductCard product={{ id: '', name: '', category: '', price: '' }} />
      </template>
      <script dangerouslySetInnerHTML={LIVE_SCRIPT} />
    </div>
  );
});

export const head: DocumentHead = { title: 'Brisk Shop' };
