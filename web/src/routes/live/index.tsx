import { component$ } from '@builder.io/qwik';
import { type DocumentHead, type RequestHandler, routeLoader$ } from '@builder.io/qwik-city';
import { SESSION_COOKIE, services } from '../../app/services.ts';
import { Dashboard } from '../../components/dashboard/dashboard.tsx';
import { ShopFooter, ShopHeader } from '../../components/shop/header.tsx';

/**
 * The pipeline dashboard. The first render is the server's, so the figures are in the HTML without
 * JavaScript; the dashboard then follows `/live/stats` in the browser. No sign-in needed: the figures are the
 * pipeline's, not a user's; the header shows the session user when there is one.
 */
export const onGet: RequestHandler = ({ headers }) => {
  // Figures from one second ago are already old.
  headers.set('cache-control', 'no-store');
};

export const useLive = routeLoader$(async ({ cookie }) => {
  const s = services();
  // Past the render budget the page shows the unavailable state; the live stream fills it in.
  const stats = await s.stats(AbortSignal.timeout(s.budgetMs));
  return { userId: s.sessionUser(cookie.get(SESSION_COOKIE)?.value), stats };
});

export default component$(() => {
  const { userId, stats } = useLive().value;
  return (
    <div class="shop">
      <ShopHeader userId={userId} />
      <main class="page">
        <Dashboard initial={stats} />
      </main>
      <ShopFooter />
    </div>
  );
});

export const head: DocumentHead = {
  title: 'Live pipeline · Brisk Shop',
  meta: [
    { name: 'description', content: 'Live pipeline figures: event rate, slot lag, latency, L1 hit ratio.' },
  ],
};
