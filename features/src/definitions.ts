/**
 * The features Brisk computes, declared as data. This is the file to edit to add a feature: everything else
 * (what state is kept, how events update it, how a read computes the value, the API's response schema) is
 * derived from these entries.
 *
 * How a definition is read:
 * - source / key: the table and the column that names the user. Brisk keeps each user's recent rows of the
 *   source (the latest version of each row), so any definition over them can be evaluated.
 * - where: which rows count: activity types (all when omitted) and whether the row must name a product.
 * - window: rows whose activity_timestamp is within the window of the moment of reading count (`lifetime`:
 *   every row Brisk keeps for the user, bounded by BRISK_MAX_ROWS_PER_USER and BRISK_USER_TTL_S). Windows are
 *   evaluated when a feature is read, so a 30 s count falls back to 0 with no new events.
 * - aggregation: how the counted rows fold into a value. `last` and `lastN` order by activity time, ties by
 *   commit order.
 * - value: a column of the row (`productId`, `type`) or, by joining the product catalogue, of the product
 *   (`category`, `price`, `embedding`). A product the catalogue does not know has a null category, price and
 *   embedding: such rows are skipped by aggregations over that value, never an error.
 *
 * Names are part of the API contract: they are the keys of `features` in GET /api/v1/features/user/{userId}.
 */
export type RowValue = 'productId' | 'type';
export type CatalogueValue = 'category' | 'price';
export type Value = RowValue | CatalogueValue;

export type WindowName = '30s' | '5m' | '1h' | 'lifetime';

export const WINDOW_US: Readonly<Record<WindowName, number>> = {
  '30s': 30_000_000,
  '5m': 300_000_000,
  '1h': 3_600_000_000,
  lifetime: Number.POSITIVE_INFINITY,
};

export type Aggregation =
  /** The value of the newest counted row, or null. */
  | { readonly kind: 'last'; readonly value: Value }
  /** How many rows count (an integer, 0 when none). */
  | { readonly kind: 'count' }
  /** The sum of a numeric value over the rows that count (rows without it are skipped). */
  | { readonly kind: 'sum'; readonly value: 'price' }
  /** How many distinct non-null values. */
  | { readonly kind: 'countDistinct'; readonly value: Value }
  /** Up to `n` distinct non-null values, newest first. */
  | { readonly kind: 'lastN'; readonly value: Value; readonly n: number }
  /** Up to `k` most frequent non-null values with their counts, most frequent first (ties: newest first). */
  | { readonly kind: 'topK'; readonly value: Value; readonly k: number; readonly as: string }
  /** Exponentially time-decayed mean of the product embeddings: each row weighs 0.5^(age / halfLife). */
  | { readonly kind: 'decayedMean'; readonly value: 'embedding'; readonly halfLifeSeconds: number };

export interface FeatureDefinition {
  readonly description: string;
  readonly source: 'public.user_activity';
  readonly key: 'user_id';
  readonly where: { readonly activityTypes?: readonly string[]; readonly requireProduct?: boolean };
  readonly window: WindowName;
  readonly aggregation: Aggregation;
}

const ACTIVITY = { source: 'public.user_activity', key: 'user_id' } as const;
const VIEWS = ['VIEW_PRODUCT'];
const CLICKS = ['CLICK_PRODUCT'];
const PRODUCT_TOUCHES = ['VIEW_PRODUCT', 'CLICK_PRODUCT'];

export const FEATURES = {
  lastViewedProduct: {
    ...ACTIVITY,
    description: 'Product of the newest VIEW_PRODUCT; null when the user has none.',
    where: { activityTypes: VIEWS, requireProduct: true },
    window: 'lifetime',
    aggregation: { kind: 'last', value: 'productId' },
  },
  lastClickedCategory: {
    ...ACTIVITY,
    description:
      'Catalogue category of the newest CLICK_PRODUCT whose product the catalogue knows; else null.',
    where: { activityTypes: CLICKS, requireProduct: true },
    window: 'lifetime',
    aggregation: { kind: 'last', value: 'category' },
  },
  viewCount30s: {
    ...ACTIVITY,
    description: 'VIEW_PRODUCT events in the last 30 seconds.',
    where: { activityTypes: VIEWS },
    window: '30s',
    aggregation: { kind: 'count' },
  },
  clickCount30s: {
    ...ACTIVITY,
    description: 'CLICK_PRODUCT events in the last 30 seconds.',
    where: { activityTypes: CLICKS },
    window: '30s',
    aggregation: { kind: 'count' },
  },
  viewCount5m: {
    ...ACTIVITY,
    description: 'VIEW_PRODUCT events in the last 5 minutes.',
    where: { activityTypes: VIEWS },
    window: '5m',
    aggregation: { kind: 'count' },
  },
  clickCount5m: {
    ...ACTIVITY,
    description: 'CLICK_PRODUCT events in the last 5 minutes.',
    where: { activityTypes: CLICKS },
    window: '5m',
    aggregation: { kind: 'count' },
  },
  activityCount1h: {
    ...ACTIVITY,
    description: 'Activity events of every type (unknown types included) in the last hour.',
    where: {},
    window: '1h',
    aggregation: { kind: 'count' },
  },
  recentProducts: {
    ...ACTIVITY,
    description: 'Up to 10 distinct products the user touched (any activity naming a product), newest first.',
    where: { requireProduct: true },
    window: 'lifetime',
    aggregation: { kind: 'lastN', value: 'productId', n: 10 },
  },
  topCategories5m: {
    ...ACTIVITY,
    description:
      'Up to 3 catalogue categories by number of activities in the last 5 minutes: [{category, count}].',
    where: { requireProduct: true },
    window: '5m',
    aggregation: { kind: 'topK', value: 'category', k: 3, as: 'category' },
  },
  embedding: {
    ...ACTIVITY,
    description: `Behaviour embedding: time-decayed mean (half-life 60 s) of the embeddings of viewed or clicked products.`,
    where: { activityTypes: PRODUCT_TOUCHES, requireProduct: true },
    window: 'lifetime',
    aggregation: { kind: 'decayedMean', value: 'embedding', halfLifeSeconds: 60 },
  },
} as const satisfies Record<string, FeatureDefinition>;

export type FeatureName = keyof typeof FEATURES;

/** The JSON value type of each aggregation, derived from the definitions. */
type ValueOf<A extends Aggregation> = A extends { kind: 'last' }
  ? string | number | null
  : A extends { kind: 'count' | 'countDistinct' | 'sum' }
    ? number
    : A extends { kind: 'lastN' }
      ? (string | number)[]
      : A extends { kind: 'topK' }
        ? Record<string, string | number>[]
        : number[];

export type FeatureVector = { -readonly [K in FeatureName]: ValueOf<(typeof FEATURES)[K]['aggregation']> };

/** The longest window any feature reads: how far back the initial snapshot must look. */
export function longestWindowUs(): number {
  return Math.max(...Object.values(FEATURES).map((f: FeatureDefinition) => WINDOW_US[f.window]));
}
