// The lab is a static site: `vite build` writes dist/ with the app, v86's wasm, a copy of
// images/dist under dist/images/, the VM disk as sha256-named chunk files, header files for common
// hosts and a service worker (tools/site/plugin.ts), so any static host can serve it, offline too.
// A disk URL the build does not know is read with HTTP Range requests: the dev middleware below
// and `vite preview` (sirv) answer them.
import { defineConfig, type Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join, normalize, resolve } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { stacklabSite } from './tools/site/plugin.ts';

const IMAGES = resolve(import.meta.dirname, 'images/dist');
const site = stacklabSite(IMAGES);

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

/** Dev only: images/dist at /images/ (the build copies it, tools/site/plugin.ts). */
function guestImages(): Plugin {
  return {
    name: 'stacklab-guest-images',
    configureServer(server) {
      server.middlewares.use('/images', serveImages);
    },
  };
}

export default defineConfig({
  // Relative asset URLs: the build works from any path on any static host.
  base: './',
  // No SPA fallback: a missing image must be a 404, not index.html.
  appType: 'mpa',
  plugins: [svelte(), ...site.plugins, guestImages()],
  worker: { format: 'es', plugins: site.workerPlugins },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 1500,
    // bench.html: the worker-vs-main-thread speed measurement (tests/e2e/speed.spec.ts).
    rollupOptions: { input: { main: resolve(import.meta.dirname, 'index.html'), bench: resolve(import.meta.dirname, 'bench.html') } },
  },
});
