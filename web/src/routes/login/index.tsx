import { component$ } from '@builder.io/qwik';
import { type DocumentHead, type RequestHandler, routeLoader$ } from '@builder.io/qwik-city';
import { SESSION_COOKIE, services } from '../../app/services.ts';
import { DEMO_USERS, ShopFooter, ShopHeader } from '../../components/shop/header.tsx';

/**
 * Demo sign-in: `/login?user=<id>` signs a session cookie for that user and goes to the shop; without `user`
 * it shows the user picker. An id the feature API could never serve is a 400 with the reason.
 */
export const onGet: RequestHandler = ({ url, cookie, redirect, status, headers }) => {
  headers.set('cache-control', 'no-store');
  const userId = url.searchParams.get('user');
  if (userId === null) return;
  const problem = services().userIdProblem(userId);
  if (problem !== null) {
    status(400);
    return;
  }
  cookie.set(SESSION_COOKIE, services().signSession(userId), {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    maxAge: [365, 'days'],
  });
  throw redirect(302, '/');
};

export const useLogin = routeLoader$(({ url, cookie }) => {
  const s = services();
  const asked = url.searchParams.get('user');
  const problem = asked === null ? null : s.userIdProblem(asked);
  return {
    current: s.sessionUser(cookie.get(SESSION_COOKIE)?.value),
    error:
      problem === null
        ? null
        : `The user id ${JSON.stringify(asked?.length && asked.length > 60 ? `${asked.slice(0, 60)}…` : asked)} ${problem}.`,
  };
});

export default component$(() => {
  const { current, error } = useLogin().value;
  return (
    <div class="shop">
      <ShopHeader userId={current} />
      <main class="page login">
        <section class="panel login-panel">
          <h1>Sign in to Brisk Shop</h1>
          <p class="muted">
            A demo: pick a shopper. The session cookie is signed by the web server, and the page only ever
            shows that shopper's features.
          </p>
          {error !== null && (
            <p class="error" role="alert" data-testid="login-error">
              {error}
            </p>
          )}
          <form method="get" action="/login" class="user-grid">
            {DEMO_USERS.map((user) => (
              <button key={user} type="submit" name="user" value={user} class="btn" data-testid="login-user">
                {user}
              </button>
            ))}
          </form>
          <form method="get" action="/login" class="user-free">
            <label for="user-id">Or any user id</label>
            <div class="user-free-row">
              <input id="user-id" name="user" type="text" required maxLength={255} placeholder="e.g. alice" />
              <button type="submit" class="btn">
                Sign in
              </button>
            </div>
          </form>
        </section>
      </main>
      <ShopFooter />
    </div>
  );
});

export const head: DocumentHead = { title: 'Sign in · Brisk Shop' };
