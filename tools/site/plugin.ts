/**
 * The Vite side of hosting and offline use:
 * - `virtual:stacklab/images`: the sha256 of every committed artifact and of every disk chunk,
 *   embedded in the page and worker bundles so each download is checked (src/runtime/media.ts);
 * - dev: serves the disks' chunk files from memory;
 * - build: copies images/dist to dist/images, writes each disk as sha256-named chunk files, the
 *   header files for common hosts, and sw.js with the list of files to keep offline.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { transformWithOxc, type Plugin } from 'vite';
import { diskChunkPath } from '../../src/core/artifacts.ts';
import { buildImages, type BuiltImages } from './images.ts';
import { htaccess, netlifyHeaders, nginxSnippet } from './headers.ts';

const VIRTUAL = 'virtual:stacklab/images';
const RESOLVED = '\0' + VIRTUAL;
/** Leading hex digits of a file's sha256 used as its revision in the offline cache. */
const REV_DIGITS = 16;

/** Not kept offline: whole disks (their chunks are), the OCI layout (inside the image store), host config. */
const NOT_OFFLINE = [
  /^sw\.js$/,
  /^_headers$/,
  /^\.htaccess$/,
  /^nginx-stacklab\.conf$/,
  /\.map$/,
  /^images\/oci\//,
  /^images\/vm\/disk\.img$/,
  /^images\/host\/store\.img$/,
];

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

/** The virtual module alone (Vite builds workers with their own plugin list). */
function imageIntegrity(imagesDir: string, images: () => BuiltImages): Plugin {
  // Without images/dist nothing can be checked or booted; the build says so (closeBundle).
  const none = { files: {}, disks: {} };
  return {
    name: 'stacklab-image-integrity',
    resolveId: (id) => (id === VIRTUAL ? RESOLVED : undefined),
    load: (id) => (id === RESOLVED ? `export default ${JSON.stringify(existsSync(imagesDir) ? images().integrity : none)};` : undefined),
  };
}

/** Plugins for the page build, and a factory for the worker builds (vite's `worker.plugins`). */
export function stacklabSite(imagesDir: string): { plugins: Plugin[]; workerPlugins: () => Plugin[] } {
  let built: BuiltImages | undefined;
  const images = () => (built ??= buildImages(imagesDir));
  let outDir = 'dist';
  let isBuild = false;

  const site: Plugin = {
    name: 'stacklab-site',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir); // resolve: --outDir may be absolute
      isBuild = config.command === 'build';
    },
    configureServer(server) {
      if (!existsSync(imagesDir)) return;
      // /images/<disk>.chunks/<sha256>.bin straight from memory.
      server.middlewares.use((req, res, next) => {
        const m = /^\/images\/(.+)\.chunks\/([0-9a-f]{64})\.bin$/.exec((req.url ?? '').split('?')[0]);
        if (!m || !images().integrity.disks[m[1]]) return next();
        const bytes = images().chunks.get(m[2]);
        if (!bytes) return next();
        res.setHeader('Content-Type', 'application/octet-stream');
        res.setHeader('Content-Length', String(bytes.length));
        res.end(bytes);
      });
    },
    async closeBundle() {
      if (!isBuild) return;
      if (!existsSync(imagesDir)) {
        this.warn('images/dist is missing: the built lab has no guests (run npm run images)');
      } else {
        cpSync(imagesDir, join(outDir, 'images'), { recursive: true });
        const { integrity, chunks } = images();
        for (const disk of Object.values(integrity.disks)) {
          for (const sha of new Set(disk.chunks)) {
            const file = join(outDir, 'images', dirname(disk.file), diskChunkPath(disk.file, sha));
            mkdirSync(dirname(file), { recursive: true });
            writeFileSync(file, chunks.get(sha)!);
          }
          // The same index the bundles embed, for other tools and for reading.
          writeFileSync(join(outDir, 'images', `${disk.file}.chunks.json`), JSON.stringify(disk, null, 1) + '\n');
        }
      }
      writeFileSync(join(outDir, '_headers'), netlifyHeaders());
      writeFileSync(join(outDir, '.htaccess'), htaccess());
      writeFileSync(join(outDir, 'nginx-stacklab.conf'), nginxSnippet());

      const files = filesUnder(outDir)
        .filter((f) => !NOT_OFFLINE.some((re) => re.test(f)))
        .map((f): [string, string] => [
          f,
          createHash('sha256')
            .update(readFileSync(join(outDir, f)))
            .digest('hex')
            .slice(0, REV_DIGITS),
        ]);
      const source = readFileSync(join(import.meta.dirname, '../../src/sw/sw.ts'), 'utf8');
      const { code: module } = await transformWithOxc(source, 'sw.ts', { lang: 'ts' });
      // A classic script (module service workers are not everywhere yet): drop the type-only export.
      const code = module.replace(/^export\s*\{\s*\};?\s*$/m, '');
      if (/^\s*(export|import)\b/m.test(code)) throw new Error('src/sw/sw.ts must stay a classic script: no imports or exports');
      // A new version when any kept file or the worker's own code changes.
      const version = createHash('sha256').update(JSON.stringify(files)).update(code).digest('hex').slice(0, 12);
      writeFileSync(join(outDir, 'sw.js'), `const BUILD = ${JSON.stringify({ version, files })};\n${code}`);
      const bytes = filesUnder(outDir)
        .filter((f) => files.some(([p]) => p === f))
        .reduce((n, f) => n + statSync(join(outDir, f)).size, 0);
      console.log(`stacklab: offline copy (sw.js, version ${version}): ${files.length} files, ${(bytes / 1e6).toFixed(1)} MB`);
    },
  };
  return { plugins: [imageIntegrity(imagesDir, images), site], workerPlugins: () => [imageIntegrity(imagesDir, images)] };
}
