// Node module hooks for the `virtual:` modules Vite provides to the page's bundle.
//   virtual:stacklab/images — the build's image hashes and disk chunk index (workers/media.ts). The
//   headless race reads images/dist from the file system by path, which names no build artifact
//   URL (`…/images/<file>`), so it runs with an empty index: files are read as they are, the disk
//   by byte ranges, as for any disk the build does not know.
const IMAGES = 'stacklab-virtual:images';

export async function resolve(specifier, context, next) {
  if (specifier === 'virtual:stacklab/images') return { url: IMAGES, shortCircuit: true };
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (url === IMAGES) {
    const empty = { files: {}, disk: { file: '', bytes: 0, chunkBytes: 0, chunks: [] } };
    return { format: 'module', source: `export default ${JSON.stringify(empty)};`, shortCircuit: true };
  }
  return next(url, context);
}
