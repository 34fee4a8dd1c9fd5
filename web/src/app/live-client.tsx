import type { Product } from './services.ts';
import type { FeaturesView, RecommendationsView, ShopView } from './view.ts';

/**
 * The storefront's only code that runs before the shopper interacts: it subscribes to `/live/features` and
 * writes each pushed feature vector into the server-rendered page. It is embedded as an inline script (the
 * source text of liveClient, called with commitTimeMs), so a page load fetches no JavaScript bundle at all;
 * Qwik's runtime is only fetched when the shopper clicks.
 *
 * The areas it writes are rendered by Qwik from loader data that never changes on the client, so Qwik never
 * re-renders them and the two never fight over the DOM. Cards are stamped from a server-rendered <template>,
 * so their markup (and their View button's Qwik handler, which reads the product id from the button) is the
 * server's.
 *
 * After each update, in the next animation frame, it measures commit -> paint (now minus the commit timestamp
 * of the newest change folded into the vector) and appends it to window.__briskPaints.
 */
export interface Paint {
  version: number;
  commitTs: string | null;
  /** When the DOM held the update; the paint follows at the next frame (up to 16.7 ms later at 60 Hz). */
  appliedAtMs: number;
  paintedAtMs: number;
  latencyMs: number | null;
}

export interface BriskPage {
  /** Applies a whole view (the refresh button's server$ answer). */
  apply(view: ShopView): void;
  /** Shows a short message in the page's status line. */
  notify(message: string, kind: 'ok' | 'error'): void;
}

declare global {
  interface Window {
    __briskPaints?: Paint[];
    __brisk?: BriskPage;
  }
}

export function liveClient(commitTimeMs: (text: string) => number | null): void {
  const root = document.querySelector<HTMLElement>('[data-testid="features"]');
  if (root === null) return;
  const paints: Paint[] = window.__briskPaints ?? [];
  window.__briskPaints = paints;
  let version = Number(root.dataset.version ?? '-1');
  let recommendationsVersion = Number(root.dataset.recommendationsVersion ?? '-1');

  const slot = <E extends Element = HTMLElement>(name: string) =>
    document.querySelector<E>(`[data-slot="${name}"]`);
  const template = document.querySelector<HTMLTemplateElement>('template[data-slot="card-template"]');
  // The same as slug() and initials() in components/shop/product-card.tsx: this function is shipped as its own
  // source text, so it cannot import them, and a stamped card must look like a server-rendered one.
  const slug = (text: string) => text.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const initials = (name: string) =>
    name
      .split(/\s+/)
      .filter((word) => /^[\p{L}\p{N}]/u.test(word))
      .slice(0, 2)
      .map((word) => word.charAt(0))
      .join('')
      .toUpperCase();

  const card = (product: Product, reason: string): Node | null => {
    if (template === null) return null;
    const fragment = template.content.cloneNode(true) as DocumentFragment;
    // Qwik's virtual-node comments would be duplicated by every copy; the stamped card needs none of them.
    const walker = document.createTreeWalker(fragment, NodeFilter.SHOW_COMMENT);
    const comments: Node[] = [];
    while (walker.nextNode()) comments.push(walker.currentNode);
    for (const comment of comments) comment.parentNode?.removeChild(comment);
    const article = fragment.querySelector<HTMLElement>('[data-testid="product-card"]');
    if (article === null) return null;
    article.dataset.productId = product.id;
    article.className = `card cat-${slug(product.category)}`;
    const set = (selector: string, text: string) => {
      const element = article.querySelector(selector);
      if (element !== null) element.textContent = text;
    };
    set('.card-initials', initials(product.name));
    set('.card-category', product.category);
    set('.card-name', product.name);
    set('.card-reason', reason);
    set('.card-price', `$${product.price}`);
    const button = article.querySelector<HTMLElement>('[data-testid="view-product"]');
    if (button !== null) {
      button.dataset.productId = product.id;
      button.setAttribute('aria-label', `View ${product.name}`);
    }
    return fragment;
  };

  const fillCards = (container: Element | null, items: readonly { product: Product; reason: string }[]) => {
    if (container === null) return;
    const nodes = items.map((item) => card(item.product, item.reason)).filter((node) => node !== null);
    container.replaceChildren(...nodes);
  };

  const applyFeatures = (view: FeaturesView) => {
    const { features, meta } = view.snapshot;
    root.dataset.version = String(meta.version);
    root.classList.remove('is-fallback');
    slot('notice')?.setAttribute('hidden', '');

    const lastId = features.lastViewedProduct;
    const last = slot('last-viewed');
    if (last !== null) {
      last.dataset.productId = lastId ?? '';
      const product = lastId === null ? undefined : view.products[lastId];
      const name = slot('last-viewed-name');
      const id = slot('last-viewed-id');
      if (name !== null)
        name.textContent = lastId === null ? 'Nothing yet' : (product?.name ?? 'Unknown product');
      if (id !== null) id.textContent = lastId ?? '—';
    }
    for (const element of document.querySelectorAll<HTMLElement>('[data-feature]')) {
      const value = features[element.dataset.feature ?? ''];
      if (typeof value === 'number') element.textContent = String(value);
    }
    const top = slot('top-categories');
    if (top !== null) {
      const items = (features.topCategories5m ?? []).map(({ category, count }) => {
        const li = document.createElement('li');
        li.className = `tag cat-${slug(category)}`;
        li.textContent = `${category} `;
        const b = document.createElement('b');
        b.textContent = String(count);
        li.append(b);
        return li;
      });
      if (items.length === 0) {
        const li = document.createElement('li');
        li.className = 'muted';
        li.textContent = 'No activity in the last 5 minutes';
        items.push(li);
      }
      top.replaceChildren(...items);
    }
    const recent = slot('recent');
    if (recent !== null) {
      const items = (features.recentProducts ?? []).map((productId) => {
        const product = view.products[productId];
        const li = document.createElement('li');
        li.className = `chip cat-${slug(product?.category ?? 'unknown')}`;
        li.dataset.productId = productId;
        li.textContent = product?.name ?? productId;
        return li;
      });
      if (items.length === 0) {
        const li = document.createElement('li');
        li.className = 'muted';
        li.textContent = 'Products you look at appear here.';
        items.push(li);
      }
      recent.replaceChildren(...items);
    }
    const because = slot('because');
    if (because !== null) {
      const lastProduct = lastId === null ? undefined : view.products[lastId];
      because.hidden = lastProduct === undefined || view.because.length === 0;
      const name = slot('because-name');
      if (name !== null) name.textContent = lastProduct?.name ?? '';
      fillCards(
        slot('because-items'),
        view.because.map((product) => ({ product, reason: `Also in ${product.category}` })),
      );
    }
  };

  const applyRecommendations = (view: RecommendationsView) => {
    recommendationsVersion = view.version;
    root.dataset.recommendationsVersion = String(view.version);
    const title = slot('recommendations-title');
    if (title !== null) title.textContent = 'Recommended for you';
    fillCards(
      document.querySelector('[data-testid="recommendations"]'),
      view.items.map((item) => ({ product: item.product, reason: item.reason })),
    );
  };

  const latency = document.querySelector<HTMLElement>('[data-testid="latency"]');
  const measure = (painted: number, commitTs: string | null) => {
    const appliedAtMs = performance.timeOrigin + performance.now();
    requestAnimationFrame(() => {
      const paintedAtMs = performance.timeOrigin + performance.now();
      const commitMs = commitTs === null ? null : commitTimeMs(commitTs);
      const latencyMs = commitMs === null ? null : paintedAtMs - commitMs;
      paints.push({ version: painted, commitTs, appliedAtMs, paintedAtMs, latencyMs });
      if (latency !== null && latencyMs !== null) {
        latency.textContent = `${latencyMs < 10 ? latencyMs.toFixed(1) : Math.round(latencyMs)} ms`;
        latency.title = `Commit to paint of version ${painted}`;
      }
    });
  };

  const onFeatures = (view: FeaturesView, refresh: boolean) => {
    const next = view.snapshot.meta.version;
    // A refresh re-applies the same version: sliding-window counts fall with time, without a new version.
    if (next < version || (next === version && !refresh)) return;
    const changed = next > version;
    version = next;
    applyFeatures(view);
    if (changed) measure(next, view.snapshot.meta.commitTs);
  };

  const toast = slot('toast');
  let toastTimer: ReturnType<typeof setTimeout> | undefined;
  window.__brisk = {
    apply: (view) => {
      if (view.features !== null) onFeatures(view.features, true);
      if (view.recommendations !== null && view.recommendations.version >= recommendationsVersion) {
        applyRecommendations(view.recommendations);
      }
    },
    notify: (message, kind) => {
      if (toast === null) return;
      toast.textContent = message;
      toast.dataset.kind = kind;
      toast.hidden = false;
      clearTimeout(toastTimer);
      toastTimer = setTimeout(() => {
        toast.hidden = true;
      }, 4000);
    },
  };

  const source = new EventSource(`/live/features${version >= 0 ? `?after=${version}` : ''}`);
  const status = slot('live-status');
  const setStatus = (text: string, state: string) => {
    if (status === null) return;
    status.textContent = text;
    status.dataset.state = state;
  };
  source.addEventListener('open', () => setStatus('Live', 'open'));
  source.addEventListener('error', () => setStatus('Reconnecting…', 'retrying'));
  source.addEventListener('unavailable', () => setStatus('Live updates paused', 'retrying'));
  source.addEventListener('features', (event) => {
    setStatus('Live', 'open');
    onFeatures(JSON.parse((event as MessageEvent<string>).data) as FeaturesView, false);
  });
  source.addEventListener('recommendations', (event) => {
    const view = JSON.parse((event as MessageEvent<string>).data) as RecommendationsView;
    if (view.version >= recommendationsVersion && view.version >= version) applyRecommendations(view);
  });
}
