import type { RequestHandler } from '@builder.io/qwik-city';
import { SESSION_COOKIE } from '../../app/services.ts';

/** Signs out: the session cookie is cleared and the shopper is back at the user picker. */
export const onGet: RequestHandler = ({ cookie, redirect, headers }) => {
  headers.set('cache-control', 'no-store');
  cookie.delete(SESSION_COOKIE, { path: '/' });
  throw redirect(302, '/login');
};
