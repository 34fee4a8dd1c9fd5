import { $ } from '@builder.io/qwik';
import { server$ } from '@builder.io/qwik-city';
import { SESSION_COOKIE, services } from '../../app/services.ts';
import type { ShopView } from '../../app/view.ts';

/**
 * The storefront's two server calls. Both act for the session user only: the browser sends no user id.
 *
 * recordView writes through the legacy MyBatis mapper, like the shop's own backend; the page is not updated
 * from its answer, it changes when the pipeline pushes the new features.
 */
export const recordView = server$(async function (productId: unknown) {
  const userId = services().sessionUser(this.cookie.get(SESSION_COOKIE)?.value);
  if (userId === null) {
    return { ok: false as const, code: 'BRISK_UNAUTHORIZED', message: 'Your session ended; sign in again.' };
  }
  return services().recordView(userId, typeof productId === 'string' ? productId : '');
});

export const refreshView = server$(async function (): Promise<ShopView | null> {
  const s = services();
  const userId = s.sessionUser(this.cookie.get(SESSION_COOKIE)?.value);
  if (userId === null) return null;
  return s.view(userId, AbortSignal.timeout(Math.max(s.budgetMs, 2_000)));
});

/**
 * The View button's handler. It captures nothing and reads the product id from the button, so the live
 * script can stamp new cards from the card template and their buttons still work.
 */
export const onViewClick = $(async (_: Event, button: HTMLButtonElement) => {
  const productId = button.dataset.productId ?? '';
  button.disabled = true;
  try {
    const result = await recordView(productId);
    const name = button.getAttribute('aria-label')?.replace(/^View /, '') ?? productId;
    if (result.ok)
      window.__brisk?.notify(`Viewed ${name}: the page updates when the pipeline pushes it.`, 'ok');
    else window.__brisk?.notify(result.message, 'error');
  } catch {
    window.__brisk?.notify('The shop is not answering; try again.', 'error');
  } finally {
    button.disabled = false;
  }
});

export const onRefreshClick = $(async (_: Event, button: HTMLButtonElement) => {
  button.disabled = true;
  try {
    const view = await refreshView();
    if (view === null) location.assign('/login');
    else window.__brisk?.apply(view);
  } catch {
    window.__brisk?.notify('Refreshing failed; try again.', 'error');
  } finally {
    button.disabled = false;
  }
});
