/**
 * Node module hooks for the `virtual:` modules Vite provides to the page's bundle.
 *   virtual:stacklab/images — the integrity every download is checked against (src/runtime/media.ts),
 *   made by core's integrityFromManifest as the page's build makes it (tools/site/images.ts), from
 *   the manifest of the images folder Node reads ($STACKLAB_DIST or images/dist), with that folder
 *   as the exact base of the artifacts' file: URLs. The disks (VM disk, host store) have no chunk
 *   index in Node: they are read by byte ranges, as any disk the build does not know, so their
 *   chunks are not checked (the page checks each one).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ARTIFACTS, integrityFromManifest, type ImageIntegrity, type ImageManifest } from '../core/artifacts.ts';
import { DIST } from './dist.ts';

const IMAGES = 'stacklab-virtual:images';

function integrity(): ImageIntegrity {
  const manifest = join(DIST, ARTIFACTS.manifest);
  if (!existsSync(manifest)) return { files: {}, disks: {} };
  return integrityFromManifest(JSON.parse(readFileSync(manifest, 'utf8')) as ImageManifest, {}, `${pathToFileURL(DIST).href}/`);
}

type Next<A, R> = (a: A, context: unknown) => Promise<R>;

export async function resolve(specifier: string, context: unknown, next: Next<string, unknown>) {
  if (specifier === 'virtual:stacklab/images') return { url: IMAGES, shortCircuit: true };
  return next(specifier, context);
}

export async function load(url: string, context: unknown, next: Next<string, unknown>) {
  if (url === IMAGES) return { format: 'module', source: `export default ${JSON.stringify(integrity())};`, shortCircuit: true };
  return next(url, context);
}
