/**
 * The features Brisk computes, declared as data. The engine keeps each user's recent activity rows; a feature
 * says which rows it looks at and how it folds them into a value, and compute.ts interprets that.
 *
 * To add a feature, add an entry here. Names are part of the API contract (they are the JSON keys of
 * `features` in GET /api/v1/features/user/{userId}).
 */
export type RowField = 'productId' | 'type';

export type FeatureDefinition = {
  readonly description: string;
  /** Activity types the feature looks at; rows of other types are ignored. */
  readonly activityTypes: readonly string[];
  /** The newest matching row by activity time (ties broken by commit order), its `value` field, or null. */
  readonly aggregation: 'last';
  readonly value: RowField;
};

export const FEATURES = {
  lastViewedProduct: {
    description: 'Product of the newest VIEW_PRODUCT by activity_timestamp; null when the user has none.',
    activityTypes: ['VIEW_PRODUCT'],
    aggregation: 'last',
    value: 'productId',
  },
} as const satisfies Record<string, FeatureDefinition>;

export type FeatureName = keyof typeof FEATURES;
export type FeatureVector = { [K in FeatureName]: string | null };
