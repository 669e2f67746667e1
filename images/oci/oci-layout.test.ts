// The OCI layout in images/dist/oci (built by images/oci/build.sh, copied by `bash images/build.sh oci`)
// checked with nothing but Node: every blob is what its descriptor says, diff_ids are the
// uncompressed layers, the four images share one base layer, and each layer holds its files.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const LAYOUT = process.env.STACKLAB_DIST ? join(process.env.STACKLAB_DIST, 'oci') : fileURLToPath(new URL('../dist/oci', import.meta.url));
const IMAGE_NAMES = ['busybox', 'web', 'lua', 'amd64-hello'];
const MT = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
};

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}
interface TarEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  size: number;
  linkname: string;
  data: Buffer;
}
interface Layer {
  digest: string;
  entries: Map<string, TarEntry>;
}
/** The fields of an image manifest and its config that this test reads (OCI image-spec manifest.md, config.md). */
interface ImageManifest {
  schemaVersion: number;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}
interface ImageConfig {
  architecture: string;
  os: string;
  config: { Cmd?: string[] };
  rootfs: { type: string; diff_ids: string[] };
}
interface Image {
  name: string;
  manifest: ImageManifest;
  config: ImageConfig;
  layers: Layer[];
}

const sha256 = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

/** A tar reader for what GNU tar --format=gnu writes: ustar headers plus 'L'/'K' long names. */
export function readTar(tar: Buffer): Map<string, TarEntry> {
  const entries = new Map<string, TarEntry>();
  const str = (b: Buffer) => b.toString('utf8', 0, b.indexOf(0) < 0 ? b.length : b.indexOf(0));
  const octal = (b: Buffer) => parseInt(str(b).trim() || '0', 8);
  let off = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    let sum = 256; // the checksum field itself counts as eight spaces
    for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) sum += h[i];
    if (sum !== octal(h.subarray(148, 156))) throw new Error(`tar: bad header checksum at offset ${off}`);
    const size = octal(h.subarray(124, 136));
    const flag = String.fromCharCode(h[156] || 0x30);
    const data = tar.subarray(off + 512, off + 512 + size);
    if (data.length !== size) throw new Error(`tar: entry at offset ${off} runs past the end`);
    off += 512 + Math.ceil(size / 512) * 512;
    if (flag === 'L') {
      longName = str(data);
      continue;
    }
    if (flag === 'K') {
      longLink = str(data);
      continue;
    }
    const prefix = h.toString('latin1', 257, 263) === 'ustar\u000000' ? str(h.subarray(345, 500)) : '';
    const name = (longName ?? (prefix ? prefix + '/' : '') + str(h.subarray(0, 100))).replace(/\/$/, '');
    const type = flag === '0' ? 'file' : flag === '5' ? 'dir' : flag === '2' ? 'symlink' : 'other';
    entries.set(name, { name, type, mode: octal(h.subarray(100, 108)), size, linkname: longLink ?? str(h.subarray(157, 257)), data });
    longName = longLink = undefined;
  }
  return entries;
}

/** Reads and verifies a layout; problems lists every mismatch (empty when the layout is sound). */
export function checkLayout(dir: string): { problems: string[]; images: Map<string, Image> } {
  const problems: string[] = [];
  const images = new Map<string, Image>();
  const referenced = new Set<string>();
  const blob = (d: Descriptor, what: string): Buffer | undefined => {
    const m = /^sha256:([0-9a-f]{64})$/.exec(d?.digest ?? '');
    if (!m) {
      problems.push(`${what}: bad digest ${d?.digest}`);
      return undefined;
    }
    referenced.add(m[1]);
    const path = join(dir, 'blobs/sha256', m[1]);
    if (!existsSync(path)) {
      problems.push(`${what}: blob ${m[1]} missing`);
      return undefined;
    }
    const b = readFileSync(path);
    if (b.length !== d.size) problems.push(`${what}: blob ${m[1]} is ${b.length} bytes, descriptor says ${d.size}`);
    if (sha256(b) !== d.digest) problems.push(`${what}: blob ${m[1]} has sha256 ${sha256(b)} (corrupted)`);
    return b;
  };
  const json = (b: Buffer | undefined, what: string) => {
    try {
      return b && JSON.parse(b.toString('utf8'));
    } catch {
      problems.push(`${what}: not JSON`);
      return undefined;
    }
  };

  const layoutFile = json(readFileSync(join(dir, 'oci-layout')), 'oci-layout');
  if (layoutFile?.imageLayoutVersion !== '1.0.0') problems.push('oci-layout: imageLayoutVersion is not 1.0.0');
  const index = json(readFileSync(join(dir, 'index.json')), 'index.json');
  if (index?.schemaVersion !== 2 || index?.mediaType !== MT.index) problems.push('index.json: not an OCI image index');
  const layerCache = new Map<string, Layer>();
  for (const entry of (index?.manifests ?? []) as Descriptor[]) {
    const name = entry.annotations?.['org.opencontainers.image.ref.name'] ?? '(unnamed)';
    if (entry.mediaType !== MT.manifest) problems.push(`${name}: index entry media type ${entry.mediaType}`);
    const manifest = json(blob(entry, `${name} manifest`), `${name} manifest`);
    if (!manifest) continue;
    if (manifest.schemaVersion !== 2 || manifest.mediaType !== MT.manifest) problems.push(`${name}: manifest header`);
    if (manifest.config?.mediaType !== MT.config) problems.push(`${name}: config media type ${manifest.config?.mediaType}`);
    const config = json(blob(manifest.config, `${name} config`), `${name} config`) ?? {};
    if (config.architecture !== '386' || config.os !== 'linux') problems.push(`${name}: platform ${config.os}/${config.architecture}`);
    if (config.rootfs?.type !== 'layers') problems.push(`${name}: rootfs type ${config.rootfs?.type}`);
    const diffIds: string[] = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== manifest.layers?.length) problems.push(`${name}: ${diffIds.length} diff_ids for ${manifest.layers?.length} layers`);
    const layers: Layer[] = [];
    (manifest.layers as Descriptor[]).forEach((d, i) => {
      if (d.mediaType !== MT.layer) problems.push(`${name} layer ${i}: media type ${d.mediaType}`);
      const gz = blob(d, `${name} layer ${i}`);
      if (!gz) return;
      let tar: Buffer;
      try {
        tar = gunzipSync(gz);
      } catch {
        problems.push(`${name} layer ${i}: not gzip`);
        return;
      }
      if (sha256(tar) !== diffIds[i]) problems.push(`${name} layer ${i}: uncompressed sha256 ${sha256(tar)}, diff_id ${diffIds[i]}`);
      let layer = layerCache.get(d.digest);
      if (!layer) {
        try {
          layer = { digest: d.digest, entries: readTar(tar) };
        } catch (e) {
          problems.push(`${name} layer ${i}: ${(e as Error).message}`);
          return;
        }
        layerCache.set(d.digest, layer);
      }
      layers.push(layer);
    });
    images.set(name, { name, manifest, config, layers });
  }
  for (const f of readdirSync(join(dir, 'blobs/sha256'))) if (!referenced.has(f)) problems.push(`blob ${f} is referenced by nothing`);
  return { problems, images };
}

const elfClass = (e: TarEntry | undefined) => (e && e.data.subarray(0, 4).toString('latin1') === '\x7fELF' ? e.data[4] : undefined); // 1 = 32-bit, 2 = 64-bit

// images/dist is not in git: `npm run images` (images/build.sh, step oci) builds it. Without it there is
// nothing to check, and the suite says so instead of failing on a fresh checkout.
const HAVE_LAYOUT = existsSync(join(LAYOUT, 'index.json'));
const suite = HAVE_LAYOUT ? describe : describe.skip;
if (!HAVE_LAYOUT) console.warn(`oci-layout.test.ts: SKIPPED — no OCI layout at ${LAYOUT} (run \`npm run images\` or \`bash images/build.sh oci\`)`);

suite(HAVE_LAYOUT ? 'OCI layout in images/dist/oci' : `OCI layout in images/dist/oci — SKIPPED: ${LAYOUT} does not exist yet (npm run images)`, () => {
  const { problems, images } = HAVE_LAYOUT ? checkLayout(LAYOUT) : { problems: [], images: new Map<string, Image>() };
  const top = (name: string) => images.get(name)!.layers.at(-1)!.entries;

  it('is sound: every blob matches its digest and size, diff_ids match, nothing dangles', () => {
    expect(problems).toEqual([]);
    expect([...images.keys()]).toEqual(IMAGE_NAMES);
  });

  it('shares one busybox base layer among all four images', () => {
    const bases = new Set(IMAGE_NAMES.map((n) => images.get(n)!.manifest.layers[0].digest));
    expect(bases.size).toBe(1);
    expect(images.get('busybox')!.layers).toHaveLength(1);
    for (const n of IMAGE_NAMES.slice(1)) expect(images.get(n)!.layers).toHaveLength(2);
  });

  it('busybox: a static i386 busybox, its applets, /etc and the empty mount points', () => {
    const base = top('busybox');
    expect(base.get('bin/busybox')?.type).toBe('file');
    expect(base.get('bin/busybox')!.mode & 0o111).toBeTruthy();
    expect(elfClass(base.get('bin/busybox'))).toBe(1);
    expect(base.get('bin/sh')).toMatchObject({ type: 'symlink', linkname: '/bin/busybox' });
    for (const f of ['etc/passwd', 'etc/group', 'etc/hosts']) expect(base.get(f)?.type).toBe('file');
    for (const d of ['proc', 'sys', 'dev', 'tmp', 'root']) expect(base.get(d)?.type).toBe('dir');
    expect(images.get('busybox')!.config.config.Cmd).toEqual(['/bin/sh']);
  });

  it('web: httpd config and a page, served by busybox httpd', () => {
    const layer = top('web');
    expect(layer.get('www/index.html')?.data.toString()).toContain('<h1>');
    expect(layer.get('etc/httpd.conf')?.type).toBe('file');
    expect(images.get('web')!.config.config.Cmd).toEqual(['/bin/busybox', 'httpd', '-f', '-p', '80', '-h', '/www']);
  });

  it('lua: Debian lua5.4 with its loader and libraries', () => {
    const layer = top('lua');
    expect(elfClass(layer.get('usr/bin/lua5.4'))).toBe(1);
    expect(layer.get('lib/ld-linux.so.2')).toMatchObject({ type: 'symlink', linkname: 'i386-linux-gnu/ld-linux.so.2' });
    for (const lib of ['ld-linux.so.2', 'libc.so.6', 'libm.so.6']) expect(elfClass(layer.get(`lib/i386-linux-gnu/${lib}`))).toBe(1);
    // Exactly the loader, the libraries lua5.4 needs (NEEDED, transitively) and a few terminfo entries: no docs, no locales.
    const files = [...layer.values()]
      .filter((e) => e.type !== 'dir')
      .map((e) => e.name)
      .sort();
    expect(files).toEqual([
      'lib/i386-linux-gnu/ld-linux.so.2',
      'lib/i386-linux-gnu/libc.so.6',
      'lib/i386-linux-gnu/libm.so.6',
      'lib/i386-linux-gnu/libreadline.so.8',
      'lib/i386-linux-gnu/libreadline.so.8.2',
      'lib/i386-linux-gnu/libtinfo.so.6',
      'lib/i386-linux-gnu/libtinfo.so.6.4',
      'lib/ld-linux.so.2',
      'lib/terminfo/d/dumb',
      'lib/terminfo/l/linux',
      'lib/terminfo/v/vt100',
      'lib/terminfo/x/xterm',
      'lib/terminfo/x/xterm-256color',
      'usr/bin/lua5.4',
    ]);
    expect(images.get('lua')!.config.config.Cmd).toEqual(['/usr/bin/lua5.4']);
  });

  it('amd64-hello: /hello is a 64-bit ELF (so the i386 host refuses it)', () => {
    const hello = top('amd64-hello').get('hello');
    expect(elfClass(hello)).toBe(2);
    expect(hello!.data.readUInt16LE(18)).toBe(62); // e_machine EM_X86_64
    expect(images.get('amd64-hello')!.config.config.Cmd).toEqual(['/hello']);
  });

  describe('on a damaged copy', () => {
    let copy: string;
    beforeAll(() => {
      copy = mkdtempSync(join(tmpdir(), 'stacklab-oci-'));
      cpSync(LAYOUT, copy, { recursive: true });
    });
    afterAll(() => rmSync(copy, { recursive: true, force: true }));
    const baseBlob = () => join(copy, 'blobs/sha256', images.get('busybox')!.manifest.layers[0].digest.slice(7));

    it('names a corrupted layer blob', () => {
      const path = baseBlob();
      const original = readFileSync(path);
      const bad = Buffer.from(original);
      bad[bad.length >> 1] ^= 0x40;
      writeFileSync(path, bad);
      try {
        const hex = path.slice(-64);
        expect(checkLayout(copy).problems).toContainEqual(expect.stringMatching(new RegExp(`^busybox layer 0: blob ${hex} has sha256 .* \\(corrupted\\)$`)));
      } finally {
        writeFileSync(path, original);
      }
      expect(checkLayout(copy).problems).toEqual([]);
    });

    it('names a diff_id that is not the sha256 of its uncompressed layer', () => {
      // Rewrite the chain index → manifest → config honestly, with one wrong diff_id inside.
      const put = (obj: unknown) => {
        const b = Buffer.from(JSON.stringify(obj));
        writeFileSync(join(copy, 'blobs/sha256', sha256(b).slice(7)), b);
        return { digest: sha256(b), size: b.length };
      };
      const indexPath = join(copy, 'index.json');
      const originalIndex = readFileSync(indexPath);
      const web = images.get('web')!;
      const config = structuredClone(web.config);
      config.rootfs.diff_ids[1] = 'sha256:' + '0'.repeat(64);
      const manifest = { ...web.manifest, config: { ...web.manifest.config, ...put(config) } };
      const index = JSON.parse(originalIndex.toString());
      const entry = index.manifests.find((m: Descriptor) => m.annotations?.['org.opencontainers.image.ref.name'] === 'web');
      Object.assign(entry, put(manifest));
      writeFileSync(indexPath, JSON.stringify(index));
      try {
        const { problems } = checkLayout(copy);
        expect(problems.filter((p) => !p.includes('referenced by nothing'))).toEqual([
          `web layer 1: uncompressed sha256 ${web.config.rootfs.diff_ids[1]}, diff_id sha256:${'0'.repeat(64)}`,
        ]);
      } finally {
        writeFileSync(indexPath, originalIndex);
      }
    });

    it('names a truncated blob', () => {
      const path = baseBlob();
      const original = readFileSync(path);
      writeFileSync(path, original.subarray(0, original.length - 1));
      try {
        expect(checkLayout(copy).problems).toContainEqual(expect.stringMatching(/^busybox layer 0: blob [0-9a-f]{64} is \d+ bytes, descriptor says \d+$/));
      } finally {
        writeFileSync(path, original);
      }
      expect(statSync(path).size).toBe(original.length);
    });
  });
});
