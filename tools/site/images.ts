/**
 * Build-time view of the committed guest artifacts: the sha256 of each file as images/dist/manifest.json
 * records it (checked against the files, so a build never ships hashes its images fail), and each
 * disk (VM disk, host image store) cut into fixed-size chunks named by their sha256, for hosts
 * without HTTP Range requests.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, DISK_ARTIFACTS, integrityFromManifest, type DiskChunkIndex, type ImageIntegrity, type ImageManifest } from '../../src/core/artifacts.ts';

/** Must match LazyDisk's default chunk size: one guest read miss = one chunk file. */
export const CHUNK_BYTES = 64 * 1024;

export interface BuiltImages {
  integrity: ImageIntegrity;
  /** Chunk bytes by sha256 (identical chunks, e.g. zeros, once). */
  chunks: Map<string, Buffer>;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export function buildImages(imagesDir: string): BuiltImages {
  const manifest = JSON.parse(readFileSync(join(imagesDir, ARTIFACTS.manifest), 'utf8')) as ImageManifest;
  const { files } = integrityFromManifest(manifest);
  for (const [file, expected] of Object.entries(files)) {
    const path = join(imagesDir, file);
    if (!existsSync(path)) throw new Error(`images/dist/${file} is listed in manifest.json but missing (npm run images)`);
    const actual = sha256(readFileSync(path));
    if (actual !== expected)
      throw new Error(`images/dist/${file} does not match manifest.json (sha256 ${actual}, manifest ${expected}): run node images/manifest.mjs check`);
  }
  const chunks = new Map<string, Buffer>();
  const disks: Record<string, DiskChunkIndex> = {};
  for (const diskFile of DISK_ARTIFACTS) {
    if (!files[diskFile]) throw new Error(`manifest.json has no ${diskFile}`);
    const disk = readFileSync(join(imagesDir, diskFile));
    const order: string[] = [];
    for (let off = 0; off < disk.length; off += CHUNK_BYTES) {
      const part = disk.subarray(off, off + CHUNK_BYTES);
      const h = sha256(part);
      order.push(h);
      chunks.set(h, part);
    }
    disks[diskFile] = { file: diskFile, bytes: disk.length, chunkBytes: CHUNK_BYTES, chunks: order };
  }
  return { integrity: integrityFromManifest(manifest, disks), chunks };
}
