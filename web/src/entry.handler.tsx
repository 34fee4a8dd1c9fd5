import { createQwikCity } from '@builder.io/qwik-city/middleware/node';
import qwikCityPlan from '@qwik-city-plan';
import render from './entry.ssr.tsx';

/**
 * The SSR bundle's entry: Qwik City's router for Node, which src/server/http.ts calls after its own routes
 * (static files, /live/features, /live/stats). The client manifest is read by the build from the client build.
 */
export const { router, notFound } = createQwikCity({
  render,
  qwikCityPlan,
  // The web server sits behind no proxy by default; the origin is the Host it was reached at.
  getOrigin: (req) => `http://${req.headers.host ?? 'localhost'}`,
});
