import { randomUUID } from 'node:crypto';
import { type Logger, userIdProblem } from '@brisk/core';
import type { Mapper, Queryable } from '@brisk/legacy';
import type { RecordViewResult, Services } from '../app/services.ts';
import { featuresView, popularProducts, RECOMMENDATION_LIMIT, recommendationsView } from '../app/view.ts';
import type { FeatureApi } from './api.ts';
import type { CatalogueCache } from './catalogue.ts';
import { type SessionKey, signSession, verifySession } from './session.ts';

const MAX_PRODUCT_ID_LENGTH = 255;
/** An unknown product id reloads the catalogue at most this often (a new product may have been added). */
const UNKNOWN_PRODUCT_RELOAD_MS = 2_000;

/** The Services route code reaches through the registry (see app/services.ts). */
export function createServices(options: {
  readonly api: FeatureApi;
  readonly catalogue: CatalogueCache;
  readonly db: Queryable;
  readonly activityMapper: Mapper;
  readonly session: SessionKey;
  readonly budgetMs: number;
  readonly logger: Logger;
}): Services {
  const { api, catalogue, logger } = options;
  return {
    budgetMs: options.budgetMs,
    userIdProblem,
    sessionUser: (value) => verifySession(options.session, value),
    signSession: (userId) => signSession(options.session, userId),
    stats: (signal) => api.stats(signal),
    features: (userId, signal) => api.features(userId, signal),
    recommendations: (userId, limit, signal) => api.recommendations(userId, limit, signal),
    catalogue: () => catalogue.all(),

    view: async (userId, signal) => {
      const [snapshot, items, products] = await Promise.all([
        api.features(userId, signal),
        api.recommendations(userId, RECOMMENDATION_LIMIT, signal),
        catalogue.all(),
      ]);
      const { byId } = catalogue.now();
      const features = snapshot === null ? null : featuresView(snapshot, byId);
      return {
        userId,
        features,
        // Recommendations are labelled with the version read alongside them; without features they are
        // still shown (the API answered that one call in time), as of "no known version".
        recommendations:
          items === null ? null : recommendationsView(snapshot?.meta.version ?? -1, items, byId),
        popular: popularProducts(products, RECOMMENDATION_LIMIT),
      };
    },

    recordView: async (userId, productId): Promise<RecordViewResult> => {
      if (userIdProblem(userId) !== null) {
        return {
          ok: false,
          code: 'BRISK_BAD_REQUEST',
          message: 'The session user id is invalid; sign in again.',
        };
      }
      if (
        typeof productId !== 'string' ||
        productId.length === 0 ||
        productId.length > MAX_PRODUCT_ID_LENGTH
      ) {
        return { ok: false, code: 'BRISK_BAD_REQUEST', message: 'A product id is 1 to 255 characters.' };
      }
      if (!catalogue.now().byId.has(productId)) await catalogue.refresh(UNKNOWN_PRODUCT_RELOAD_MS);
      if (!catalogue.now().byId.has(productId)) {
        return {
          ok: false,
          code: 'BRISK_BAD_REQUEST',
          message: `There is no product '${productId.slice(0, 80)}' in the catalogue.`,
        };
      }
      const id = randomUUID();
      try {
        await options.activityMapper.run(options.db, 'insertActivity', {
          id,
          userId,
          activityType: 'VIEW_PRODUCT',
          productId,
          activityTimestamp: new Date(),
        });
      } catch (error) {
        logger.error({ err: error, userId, productId }, 'recording a product view failed');
        return {
          ok: false,
          code: 'BRISK_PG_UNREACHABLE',
          message: 'The shop database is not answering; try again.',
        };
      }
      return { ok: true, activityId: id };
    },
  };
}
