// The lab is a static site: `vite build` writes dist/ with the app, v86's wasm and a copy of
// images/dist under dist/images/, so any static host can serve it. The VM disk is read with HTTP
// Range requests: `vite preview` (sirv) answers them, and so does the dev middleware below.
import { defineConfig, type Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { cpSync, createReadStream, existsSync, statSync } from 'node:fs';
import { join, normalize, resolve } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';

const IMAGES = resolve(import.meta.dirname, 'images/dist');

/** Serve images/dist at /images/ in dev, with single-range support for the lazily read disk. */
function serveImages(req: IncomingMessage, res: ServerResponse, next: () => void) {
  const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0])).replace(/^(\.\.[/\\])+/, '');
  const file = join(IMAGES, path);
  if (!file.startsWith(IMAGES) || !existsSync(file) || !statSync(file).isFile()) return next();
  const size = statSync(file).size;
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Content-Type', 'application/octet-stream');
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  if (req.headers.range && !range) {
    res.statusCode = 416;
    res.setHeader('Content-Range', `bytes */${size}`);
    return res.end();
  }
  const start = range ? Number(range[1]) : 0;
  const end = range && range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
  if (start > end) {
    res.statusCode = 416;
    res.setHeader('Content-Range', `bytes */${size}`);
    return res.end();
  }
  if (range) {
    res.statusCode = 206;
    res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
  }
  res.setHeader('Content-Length', String(end - start + 1));
  createReadStream(file, { start, end }).pipe(res);
}

function guestImages(): Plugin {
  let outDir = 'dist';
  return {
    name: 'stacklab-guest-images',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    configureServer(server) {
      server.middlewares.use('/images', serveImages);
    },
    closeBundle() {
      if (!existsSync(IMAGES)) {
        this.warn('images/dist is missing: the built lab has no guests (run npm run images)');
        return;
      }
      cpSync(IMAGES, join(outDir, 'images'), { recursive: true });
    },
  };
}

export default defineConfig({
  // Relative asset URLs: the build works from any path on any static host.
  base: './',
  // No SPA fallback: a missing image must be a 404, not index.html.
  appType: 'mpa',
  plugins: [svelte(), guestImages()],
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 1500,
    // bench.html: the worker-vs-main-thread speed measurement (tests/e2e/speed.spec.ts).
    rollupOptions: { input: { main: resolve(import.meta.dirname, 'index.html'), bench: resolve(import.meta.dirname, 'bench.html') } },
  },
});
