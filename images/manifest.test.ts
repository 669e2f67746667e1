// The committed artifacts are exactly what the manifest says, and were built from the
// recipes as they are now.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, cpSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error plain ESM tool without types
import { checkManifest, readManifest, recipeHash, DIST_BUDGET_BYTES, IMAGES_DIR } from './manifest.mjs';

/** One entry of manifest.json's artifacts (written by manifest.mjs). */
interface Artifact {
  file: string;
  bytes: number;
  sha256: string;
}

describe('images/dist manifest', () => {
  const manifest = readManifest();

  it('every artifact matches its size and sha256, and recipes are unchanged since the build', () => {
    expect(checkManifest(manifest)).toEqual([]);
  });

  it('names a truncated or altered artifact', () => {
    const a = manifest.artifacts.find((x: Artifact) => x.file === 'host/bzImage');
    const bad = { ...manifest, artifacts: manifest.artifacts.map((x: Artifact) => (x === a ? { ...x, sha256: '0'.repeat(64) } : x)) };
    expect(checkManifest(bad)).toContainEqual(expect.stringMatching(/^host\/bzImage: sha256 .* \(altered\)$/));
    const short = { ...manifest, artifacts: manifest.artifacts.map((x: Artifact) => (x === a ? { ...x, bytes: x.bytes + 1 } : x)) };
    expect(checkManifest(short)).toContainEqual(expect.stringMatching(/^host\/bzImage: \d+ bytes, manifest says \d+ \(truncated or altered\)$/));
  });

  it('notices a recipe change that was not rebuilt', () => {
    const copy = mkdtempSync(join(tmpdir(), 'stacklab-recipes-'));
    try {
      cpSync(join(IMAGES_DIR, 'host'), join(copy, 'host'), { recursive: true });
      const before = recipeHash(copy);
      const f = join(copy, 'host/kernel.config');
      writeFileSync(f, readFileSync(f, 'utf8') + 'CONFIG_EXAMPLE=y\n');
      expect(recipeHash(copy)).not.toBe(before);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('records where the artifacts came from and stays under budget', () => {
    expect(manifest.kernels.host).toMatch(/^6\.12\./);
    expect(manifest.kernels.vm).toMatch(/^6\.1\./);
    for (const p of ['seabios', 'syslinux', 'busybox', 'linux-source-6.12', 'linux-source-6.1']) expect(manifest.packages[p]).toBeTruthy();
    expect(manifest.totalBytes).toBeLessThan(DIST_BUDGET_BYTES);
    for (const f of ['bios/seabios.bin', 'bios/vgabios.bin', 'host/bzImage', 'host/initramfs.cpio', 'host/store.img', 'vm/disk.img'])
      expect(manifest.artifacts.map((a: Artifact) => a.file)).toContain(f);
  });
});

describe('measured boot reads', () => {
  it('records what one VM boot fetched from this very disk, and it is a fraction of the disk', () => {
    const m = readManifest();
    const disk = m.artifacts.find((a: Artifact) => a.file === 'vm/disk.img');
    const fetch = m.measured?.vmBootDiskFetch;
    expect(fetch, 'run npm run images (measure step)').toBeTruthy();
    expect(fetch.diskSha256).toBe(disk.sha256);
    expect(fetch.bytes).toBeGreaterThan(0);
    expect(fetch.bytes).toBeLessThan(disk.bytes);
  });

  it("records what the host's boot and its first container read from this very image store: a fraction of it", () => {
    const m = readManifest();
    const store = m.artifacts.find((a: Artifact) => a.file === 'host/store.img');
    const fetch = m.measured?.hostStoreFetch;
    expect(fetch, 'run npm run images (measure step)').toBeTruthy();
    expect(fetch.storeSha256).toBe(store.sha256);
    expect(fetch.bootBytes).toBeGreaterThan(0);
    expect(fetch.firstRunBytes).toBeGreaterThan(fetch.bootBytes);
    expect(fetch.firstRunBytes).toBeLessThan(store.bytes / 2);
  });
});
