export const DEMO_USERS = ['user-1', 'user-2', 'user-3', 'user-4', 'user-5', 'user-6', 'user-7', 'user-8'];

/** The shop header: logo, navigation, and the signed-in user's menu (a <details>: no JavaScript needed). */
export const ShopHeader = (props: { userId: string | null }) => (
  <header class="site-header">
    <div class="site-header-inner">
      <a class="logo" href="/" aria-label="Brisk Shop home">
        <span class="logo-mark" aria-hidden="true">
          B
        </span>
        Brisk Shop
      </a>
      <nav class="site-nav" aria-label="Main">
        <a href="/">Shop</a>
        <a href="/live">Live pipeline</a>
      </nav>
      {props.userId !== null && (
        <details class="user-menu">
          <summary data-testid="session-user">
            <span class="avatar" aria-hidden="true">
              {props.userId.slice(-1).toUpperCase()}
            </span>
            <span class="user-name">{props.userId}</span>
          </summary>
          <div class="user-menu-panel">
            <p class="muted">Switch demo user</p>
            <form method="get" action="/login" class="user-switch">
              {DEMO_USERS.map((user) => (
                <button
                  key={user}
                  type="submit"
                  name="user"
                  value={user}
                  class={user === props.userId ? 'btn btn-small is-current' : 'btn btn-small btn-ghost'}
                >
                  {user}
                </button>
              ))}
            </form>
            <a class="sign-out" href="/logout" data-testid="sign-out">
              Sign out
            </a>
          </div>
        </details>
      )}
    </div>
  </header>
);

export const ShopFooter = () => (
  <footer class="site-footer">
    <div class="site-footer-inner">
      <p>
        <strong>Brisk Shop</strong> — a demo storefront. Every view you make is written by the legacy shop
        code, captured from PostgreSQL's WAL, turned into features and pushed back to this page.
      </p>
      <p class="muted">
        <a href="/live">Pipeline dashboard</a> · <a href="/login">Switch user</a>
      </p>
    </div>
  </footer>
);
