// Node module hooks for the `virtual:` modules Vite provides to the page's bundle.
//   virtual:stacklab/images — the sha256 of every artifact, which src/runtime/media.ts checks each
//   download against. Here it comes from the manifest of the images folder the race reads
//   ($STACKLAB_DIST or images/dist), with that folder as the exact base of the artifacts' file:
//   URLs. The disks (VM disk, host store) have no chunk index in Node: they are read by byte ranges, as any disk the build
//   does not know, so their chunks are not checked (the page checks each one).
import { existsSync, readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const IMAGES = 'stacklab-virtual:images';
const DIST = process.env.STACKLAB_DIST ?? fileURLToPath(new URL('../../images/dist', import.meta.url));

function integrity() {
  const none = { files: {}, disks: {} };
  const manifest = resolvePath(DIST, 'manifest.json');
  if (!existsSync(manifest)) return none;
  const { artifacts } = JSON.parse(readFileSync(manifest, 'utf8'));
  const files = Object.fromEntries(artifacts.map((a) => [a.file, a.sha256]));
  return { ...none, files, base: `${pathToFileURL(resolvePath(DIST)).href}/` };
}

export async function resolve(specifier, context, next) {
  if (specifier === 'virtual:stacklab/images') return { url: IMAGES, shortCircuit: true };
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (url === IMAGES) return { format: 'module', source: `export default ${JSON.stringify(integrity())};`, shortCircuit: true };
  return next(url, context);
}
