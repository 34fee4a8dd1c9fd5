import { createLogger } from '@brisk/core';
import { ensureWebBuild } from './server/build.ts';

/** `npm run build -w web`: build the storefront ahead of time (startWeb would otherwise build on first start). */
const logger = createLogger('info');
const build = await ensureWebBuild(logger);
logger.info(
  { dir: build.dir, built: build.built },
  build.built ? 'storefront built' : 'storefront build is current',
);
