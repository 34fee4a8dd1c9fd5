import type { Product } from '../../app/services.ts';
import { onViewClick } from './actions.tsx';

export const slug = (text: string) => text.toLowerCase().replace(/[^a-z0-9]+/g, '-');

export const initials = (name: string) =>
  name
    .split(/\s+/)
    .filter((word) => /^[\p{L}\p{N}]/u.test(word))
    .slice(0, 2)
    .map((word) => word.charAt(0))
    .join('')
    .toUpperCase();

/**
 * A product card. A plain function component (no component$ boundary): the live script stamps copies of
 * it from a <template>, and a copy must carry no Qwik state of its own. The class names and the `card-*`
 * elements are what the live script fills in (src/app/live-client.tsx).
 */
export const ProductCard = (props: { product: Product; reason?: string }) => {
  const { product } = props;
  return (
    <article
      class={`card cat-${slug(product.category)}`}
      data-testid="product-card"
      data-product-id={product.id}
    >
      <div class="card-image" aria-hidden="true">
        <svg class="card-shape" viewBox="0 0 100 60" preserveAspectRatio="none" role="presentation">
          <circle cx="82" cy="12" r="26" />
          <circle cx="10" cy="58" r="18" />
        </svg>
        <span class="card-initials">{initials(product.name)}</span>
      </div>
      <div class="card-body">
        <p class="card-category">{product.category}</p>
        <h3 class="card-name">{product.name}</h3>
        <p class="card-reason">{props.reason ?? ''}</p>
        <div class="card-foot">
          <span class="card-price">${product.price}</span>
          <button
            type="button"
            class="btn btn-small"
            data-testid="view-product"
            data-product-id={product.id}
            aria-label={`View ${product.name}`}
            onClick$={onViewClick}
          >
            View
          </button>
        </div>
      </div>
    </article>
  );
};
