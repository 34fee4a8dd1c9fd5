import { type RenderToStreamOptions, renderToStream } from '@builder.io/qwik/server';
import Root from './root.tsx';

/**
 * Server rendering. The storefront runs no Qwik code until the shopper clicks (its live updates are a small
 * inline script), so nothing is fetched ahead: the preloader is off (it would fetch bundles in idle time right
 * after load), and the manifest is given without `core`, which Qwik would otherwise always <link
 * rel=modulepreload> (52 KB). Qwik's runtime is fetched on the first interaction instead.
 */
export default function render(opts: RenderToStreamOptions) {
  return renderToStream(<Root />, {
    ...opts,
    preloader: false,
    manifest: { ...opts.manifest, core: undefined } as RenderToStreamOptions['manifest'],
    containerAttributes: { lang: 'en', ...opts.containerAttributes },
  });
}
