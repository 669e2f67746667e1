// The container host's image store: boxd's OCI layout and pulled layers on a second disk that the
// emulator reads lazily (images/build.sh host-store). Real boots in v86 under Node.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ARTIFACTS } from '../../src/core/artifacts.ts';
import { MARKERS } from '../../src/core/markers.ts';
import { DIST, Machine } from './harness.ts';

const STORE = join(DIST, ARTIFACTS.hostStore);
const files = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();

describe('the host image store (host/store.img)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'stacklab-store-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('holds the OCI layout of images/dist/oci byte for byte, and skopeo reads it as one', () => {
    // debugfs (e2fsprogs) copies a directory out of the ext2 image without mounting it.
    execFileSync('debugfs', ['-R', `rdump /oci ${tmp}`, STORE], { stdio: 'pipe' });
    const ours = files(join(DIST, 'oci'));
    expect(files(join(tmp, 'oci'))).toEqual(ours);
    for (const f of ours) expect(readFileSync(join(tmp, 'oci', f)).equals(readFileSync(join(DIST, 'oci', f))), f).toBe(true);
    const web = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${join(tmp, 'oci')}:web`], { encoding: 'utf8' }));
    expect(web.Layers.length).toBe(2);
  });

  it('a host boot reads a few blocks of it; the first container (and the read-ahead of its image) under half of it', async () => {
    const m = new Machine('host');
    try {
      await m.waitFor(MARKERS.hostReady, 90_000, 'host ready');
      const boot = m.disk!.stats().bytesFetched;
      m.type('\n');
      expect(await m.run('box run busybox echo from-the-store 2>&1', 60_000)).toMatch(/^from-the-store$/m);
      const run = m.disk!.stats().bytesFetched;
      const size = statSync(STORE).size;
      console.log(`store ${size} B: boot fetched ${boot} B, after one box run busybox ${run} B`);
      expect(boot).toBeGreaterThan(0);
      expect(boot).toBeLessThan(size / 8);
      expect(run).toBeGreaterThan(boot);
      expect(run).toBeLessThan(size / 2);
    } finally {
      await m.stop();
    }
  });

  it('without its store the host still boots to its shell, and box run names the image it cannot find', async () => {
    // No IDE disk at all: what a host whose store failed to download would see.
    const m = new Machine('host', { extra: { hda: undefined } });
    try {
      await m.waitFor(MARKERS.hostReady, 90_000, 'host ready');
      m.type('\n');
      const out = await m.run('box run busybox echo never 2>&1; echo "exit=$?"', 60_000);
      expect(out).toMatch(/Unable to find image 'busybox'/);
      expect(out).toMatch(/exit=(?!0\b)\d+/);
      expect(await m.run('echo still-$((40+2))')).toMatch(/^still-42$/m);
    } finally {
      await m.stop();
    }
  });
});
