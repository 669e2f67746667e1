import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImages, CHUNK_BYTES } from './images.ts';
import { LazyDisk } from '../../src/core/lazy-disk.ts';
import { DISK_ARTIFACTS, diskChunkPath } from '../../src/core/artifacts.ts';

const IMAGES = join(import.meta.dirname, '../../images/dist');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe.skipIf(!existsSync(join(IMAGES, 'vm/disk.img')))('build-time image integrity', () => {
  it('the chunks, in index order, are each committed disk whose sha256 the manifest records', async () => {
    const { integrity, chunks } = buildImages(IMAGES);
    expect(Object.keys(integrity.disks).sort()).toEqual([...DISK_ARTIFACTS].sort());
    for (const index of Object.values(integrity.disks)) {
      const disk = readFileSync(join(IMAGES, index.file));
      expect(index.chunkBytes).toBe(CHUNK_BYTES);
      expect(index.chunks.length).toBe(Math.ceil(disk.length / CHUNK_BYTES));
      // Read the whole disk back through LazyDisk from the chunk files only.
      const lazy = new LazyDisk(index.bytes, async (start) => chunks.get(index.chunks[start / CHUNK_BYTES])!, index.chunkBytes);
      expect(sha(await lazy.read_range(0, index.bytes))).toBe(integrity.files[index.file]);
    }
    for (const [h, bytes] of chunks) expect(sha(bytes)).toBe(h);
    expect(diskChunkPath('vm/disk.img', 'ab')).toBe('disk.img.chunks/ab.bin');
    expect(Object.keys(integrity.files).some((f) => f.startsWith('oci/'))).toBe(false);
  });

  it('refuses to build from an artifact that does not match manifest.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stacklab-images-'));
    try {
      cpSync(join(IMAGES, 'manifest.json'), join(dir, 'manifest.json'));
      for (const f of ['bios/seabios.bin', 'bios/vgabios.bin', 'host/bzImage', 'host/cmdline.txt', 'host/initramfs.cpio', 'host/store.img', 'vm/disk.img'])
        cpSync(join(IMAGES, f), join(dir, f));
      const bios = readFileSync(join(dir, 'bios/vgabios.bin'));
      bios[100] ^= 1;
      writeFileSync(join(dir, 'bios/vgabios.bin'), bios);
      expect(() => buildImages(dir)).toThrow(/bios\/vgabios\.bin does not match manifest\.json/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
