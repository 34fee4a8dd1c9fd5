import { type Aggregation, FEATURES, type FeatureDefinition } from '@brisk/features';

/**
 * JSON schemas of the API, used three ways: Fastify validates requests with them, serialises responses with
 * them (fast-json-stringify), and @fastify/swagger publishes them at /docs. The feature vector's schema is
 * derived from the feature definitions, so a new feature is documented the moment it is declared.
 */
export const errorBody = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' } },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
} as const;

function valueSchema(aggregation: Aggregation): Record<string, unknown> {
  switch (aggregation.kind) {
    case 'last':
      return { type: ['string', 'number', 'null'] };
    case 'count':
    case 'countDistinct':
      return { type: 'integer', minimum: 0 };
    case 'sum':
      return { type: 'number' };
    case 'lastN':
      return { type: 'array', maxItems: aggregation.n, items: { type: ['string', 'number'] } };
    case 'topK':
      return {
        type: 'array',
        maxItems: aggregation.k,
        items: {
          type: 'object',
          properties: { [aggregation.as]: { type: ['string', 'number'] }, count: { type: 'integer' } },
        },
      };
    case 'decayedMean':
      return { type: 'array', items: { type: 'number' } };
  }
}

export const featuresSchema = {
  type: 'object',
  properties: Object.fromEntries(
    Object.entries(FEATURES).map(([name, definition]: [string, FeatureDefinition]) => [
      name,
      {
        ...valueSchema(definition.aggregation),
        description: `${definition.description} (window: ${definition.window})`,
      },
    ]),
  ),
} as const;

export const featureBody = {
  type: 'object',
  properties: {
    userId: { type: 'string' },
    features: featuresSchema,
    meta: {
      type: 'object',
      description: 'Freshness of the state the features were computed from.',
      properties: {
        version: { type: 'integer', description: 'Changes applied to this user so far (0: unknown user).' },
        updatedAt: { type: ['string', 'null'], description: 'When the last change was stored.' },
        commitTs: {
          type: ['string', 'null'],
          description: 'PostgreSQL commit time of the newest change folded in.',
        },
        lsn: { type: ['string', 'null'], description: 'WAL position of that change.' },
      },
    },
  },
} as const;

export const userIdParams = {
  type: 'object',
  properties: { userId: { type: 'string', description: '1 to 255 characters, no control characters.' } },
} as const;

export const featureQuery = {
  type: 'object',
  properties: {
    features: { type: 'string', description: 'Comma-separated feature names to return (default: all).' },
    minVersion: {
      type: 'string',
      description:
        'Answer once the user state has at least this version (read your writes), or after waitMs.',
    },
    waitMs: { type: 'string', description: 'How long minVersion may wait, 0 to 30000 (default 5000).' },
  },
} as const;

export const MAX_BATCH = 500;

export const batchBody = {
  type: 'object',
  required: ['userIds'],
  additionalProperties: false,
  properties: {
    userIds: { type: 'array', minItems: 1, maxItems: MAX_BATCH, items: { type: 'string' } },
    features: {
      type: 'array',
      items: { type: 'string' },
      description: 'Feature names to return (default: all).',
    },
  },
} as const;

export const batchResponse = {
  type: 'object',
  properties: { users: { type: 'array', items: featureBody } },
} as const;

export const recommendationQuery = {
  type: 'object',
  properties: { limit: { type: 'string', description: 'How many items, 1 to 100 (default 10).' } },
} as const;

export const recommendationBody = {
  type: 'object',
  properties: {
    userId: { type: 'string' },
    items: {
      type: 'array',
      items: {
        type: 'object',
        properties: { productId: { type: 'string' }, score: { type: 'number' }, reason: { type: 'string' } },
      },
    },
  },
} as const;
