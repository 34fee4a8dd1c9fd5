import path from 'node:path';
import { qwikVite } from '@builder.io/qwik/optimizer';
import { qwikCity } from '@builder.io/qwik-city/vite';
import { defineConfig } from 'vite';

// ensureWebBuild (src/server/build.ts) runs this config twice (client, then --ssr) with BRISK_WEB_OUT_DIR set
// to a temporary directory it renames into place; Qwik's plugin decides outDir, so it is passed through here.
const out = path.resolve(import.meta.dirname, process.env.BRISK_WEB_OUT_DIR ?? 'build/manual');

export default defineConfig({
  root: import.meta.dirname,
  plugins: [
    qwikCity({ trailingSlash: false }),
    qwikVite({
      client: { outDir: path.join(out, 'client') },
      ssr: { outDir: path.join(out, 'server') },
    }),
  ],
  build: { emptyOutDir: true },
  // Workspace packages are TypeScript run through tsx on the Node side; the SSR bundle only takes their types.
  ssr: { external: ['@brisk/core', '@brisk/legacy'] },
});
