// images/dist/manifest.json: what every built artifact is, its size and sha256, where it came
// from (Debian package and kernel versions) and a hash of every recipe input, so a test can tell
// a corrupted artifact from a stale one.
//
//   node images/manifest.mjs write [--set key/path=value]… [--sources file]   (called by build.sh)
//   node images/manifest.mjs set key/path=value…                           (record a measurement)
//   node images/manifest.mjs check                                          (exit 1 on any mismatch)
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const IMAGES_DIR = fileURLToPath(new URL('.', import.meta.url));
export const DIST_DIR = process.env.STACKLAB_DIST ?? join(IMAGES_DIR, 'dist');
export const MANIFEST_PATH = join(DIST_DIR, 'manifest.json');
export const DIST_BUDGET_BYTES = 40 * 1024 * 1024;

const DESCRIPTIONS = {
  'bios/seabios.bin': 'SeaBIOS firmware (Debian seabios, bios.bin)',
  'bios/vgabios.bin': 'VGA BIOS (Debian seabios, vgabios-stdvga.bin)',
  'host/bzImage': 'Container host kernel: Linux 6.12 i386 built from images/host/kernel.config, its real-mode setup + the uncompressed kernel (images/host/uncompressed-bzimage.mjs)',
  'host/cmdline.txt': 'Container host kernel command line',
  'host/initramfs.cpio': 'Container host initramfs, uncompressed newc: busybox, init, box/boxd',
  'host/store.img': "Container host image store: ext2 on a whole disk (IDE hda), boxd's /var/lib/box: the OCI layout and the pulled layers unpacked",
  'vm/disk.img': "VM disk: MBR, SYSLINUX, FAT boot partition with Linux 6.1, ext2 root with busybox, box/boxd and boxd's /var/lib/box (the busybox image)",
};

function describe(file) {
  if (DESCRIPTIONS[file]) return DESCRIPTIONS[file];
  if (file.startsWith('oci/blobs/')) return 'OCI blob (manifest, config or gzip layer)';
  if (file.startsWith('oci/')) return 'OCI image layout metadata';
  return 'artifact';
}

const SKIP_DIRS = new Set(['dist', 'build', 'tests', 'fuzz', 'node_modules']);
const isRecipe = (path) => {
  const parts = path.split('/');
  const name = parts.at(-1);
  return !parts.slice(0, -1).some((d) => SKIP_DIRS.has(d)) && !/\.(test\.ts|md)$/.test(name) && !/^check(-.*)?\.sh$/.test(name) && !name.startsWith('.');
};

/**
 * Recipe inputs: every file under images/ that shapes an artifact (not outputs, tests or docs).
 * In a git checkout the list is what git tracks or would track (ignored build output never
 * counts), so a fresh clone computes the same hash as the machine that built the images.
 */
export function recipeFiles(dir = IMAGES_DIR) {
  try {
    const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '.'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return listed.split('\0').filter(Boolean).filter((f) => existsSync(join(dir, f))).filter(isRecipe).sort();
  } catch {
    // not a git checkout (or a copy of the recipes in a temp dir): walk the tree
  }
  const out = [];
  (function walk(d) {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) {
        if (!SKIP_DIRS.has(name)) walk(p);
      } else {
        const rel = relative(dir, p).split(sep).join('/');
        if (isRecipe(rel)) out.push(rel);
      }
    }
  })(dir);
  return out;
}

export function sha256(buf) {
  return createHash('sha256').update(buf).digest('hex');
}

export function recipeHash(dir = IMAGES_DIR) {
  const h = createHash('sha256');
  for (const f of recipeFiles(dir)) {
    const st = statSync(join(dir, f));
    // The executable bit matters (init scripts), other mode bits do not survive git.
    h.update(`${f}\0${st.mode & 0o111 ? 'x' : '-'}\0${sha256(readFileSync(join(dir, f)))}\n`);
  }
  return h.digest('hex');
}

export function distFiles() {
  const out = [];
  (function walk(d) {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p !== MANIFEST_PATH) out.push(relative(DIST_DIR, p).split(sep).join('/'));
    }
  })(DIST_DIR);
  return out;
}

export function readManifest() {
  return JSON.parse(readFileSync(MANIFEST_PATH, 'utf8'));
}

/** Every problem with dist/ against the manifest, as readable strings; empty means all good. */
export function checkManifest(manifest = readManifest()) {
  const problems = [];
  const listed = new Set();
  let total = 0;
  for (const a of manifest.artifacts) {
    listed.add(a.file);
    const p = join(DIST_DIR, a.file);
    if (!existsSync(p)) {
      problems.push(`${a.file}: missing`);
      continue;
    }
    const buf = readFileSync(p);
    total += buf.length;
    if (buf.length !== a.bytes) problems.push(`${a.file}: ${buf.length} bytes, manifest says ${a.bytes} (truncated or altered)`);
    else if (sha256(buf) !== a.sha256) problems.push(`${a.file}: sha256 ${sha256(buf).slice(0, 16)}…, manifest says ${a.sha256.slice(0, 16)}… (altered)`);
  }
  for (const f of distFiles()) if (!listed.has(f)) problems.push(`${f}: in images/dist but not in the manifest`);
  const now = recipeHash();
  if (now !== manifest.recipeHash)
    problems.push(`recipes changed since the artifacts were built (recipe hash ${now.slice(0, 16)}…, manifest ${String(manifest.recipeHash).slice(0, 16)}…): run npm run images`);
  if (total > DIST_BUDGET_BYTES) problems.push(`images/dist is ${total} bytes, over the ${DIST_BUDGET_BYTES} budget`);
  return problems;
}

function setPath(obj, path, value) {
  const keys = path.split('/');
  let o = obj;
  for (const k of keys.slice(0, -1)) o = o[k] ??= {};
  o[keys.at(-1)] = /^-?\d+$/.test(value) ? Number(value) : value;
}

function parseSets(args) {
  const sets = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--set') sets.push(args[++i]);
    else if (args[i] === '--sources') sets.push({ sources: args[++i] });
    else sets.push(args[i]);
  }
  return sets;
}

function applySets(manifest, sets) {
  for (const s of sets) {
    if (typeof s === 'object') {
      if (existsSync(s.sources)) {
        for (const line of readFileSync(s.sources, 'utf8').split('\n')) {
          const m = line.trim().match(/^(\S+)\s+(\S+)$/);
          if (m) (manifest.packages ??= {})[m[1]] = m[2];
        }
      }
      continue;
    }
    const eq = s.indexOf('=');
    if (eq < 1) throw new Error(`bad --set ${s} (want key/path=value)`);
    setPath(manifest, s.slice(0, eq), s.slice(eq + 1));
  }
}

function write(sets) {
  const old = existsSync(MANIFEST_PATH) ? readManifest() : {};
  const manifest = {
    name: 'stacklab guest images',
    sourceDateEpoch: Number(process.env.SOURCE_DATE_EPOCH ?? 1700000000),
    recipeHash: recipeHash(),
    kernels: {},
    packages: {},
    measured: old.measured ?? {},
    artifacts: distFiles().map((file) => {
      const buf = readFileSync(join(DIST_DIR, file));
      return { file, bytes: buf.length, sha256: sha256(buf), what: describe(file) };
    }),
  };
  applySets(manifest, sets);
  manifest.totalBytes = manifest.artifacts.reduce((n, a) => n + a.bytes, 0);
  writeFileSync(MANIFEST_PATH, JSON.stringify(manifest, null, 2) + '\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [cmd, ...args] = process.argv.slice(2);
  if (cmd === 'write') write(parseSets(args));
  else if (cmd === 'set') {
    const m = readManifest();
    applySets(m, parseSets(args));
    writeFileSync(MANIFEST_PATH, JSON.stringify(m, null, 2) + '\n');
  } else if (cmd === 'check') {
    const problems = checkManifest();
    for (const p of problems) console.error(`manifest: ${p}`);
    if (problems.length) process.exit(1);
    console.log('manifest: all artifacts match');
  } else {
    console.error('usage: node images/manifest.mjs write|set|check');
    process.exit(2);
  }
}
