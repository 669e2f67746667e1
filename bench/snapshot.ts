// Warm start from a snapshot, measured in Node with the committed images: boot the container host
// once, save its state, then 5× restore it into a freshly built emulator and time restore → host
// ready (the root shell answers `echo`, and boxd answers HELLO on the mux). Also the state's size,
// raw and compressed, with the shipped command line (init_on_free=1) and without init_on_free.
// Wall times depend on the machine's load (print `uptime` next to them); sizes do not.
import { execSync } from 'node:child_process';
import { boot, hostCmdline, type Machine } from '../tests/boot/harness.ts';
import { MARKERS } from '../src/core/markers.ts';
import { v86VirtioPort } from '../src/core/mux/index.ts';
import { compress } from '../src/core/snapshot/index.ts';
import { nodeConfig, restoreMachine, saveMachine } from '../tests/boot/snapshot-node.ts';

const RUNS = Number(process.env.RUNS ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
const ms = (n: number) => `${n.toFixed(0)} ms`;

async function bootHost(cmdline: string): Promise<{ m: Machine; bootMs: number }> {
  const m = await boot('host', { extra: { cmdline } });
  const mark = await m.waitFor(MARKERS.hostReady, 180_000, 'host ready');
  m.type('\n');
  await m.waitFor(/# $/m, 30_000, 'host shell');
  const port = v86VirtioPort(m.emulator, 1);
  await port.host.ready;
  port.close();
  return { m, bootMs: mark.wallMs };
}

async function sizes(label: string, cmdline: string) {
  const { m, bootMs } = await bootHost(cmdline);
  const opts = { extra: { cmdline } };
  const saved = await saveMachine(m, nodeConfig('host', opts));
  const raw = new Uint8Array(await m.emulator.save_state());
  const deflate = (await compress(raw, 'deflate-raw')).length;
  await m.stop();
  return { label, bootMs, saved, deflate, opts };
}

const load = () =>
  execSync('uptime')
    .toString()
    .trim()
    .replace(/.*load/, 'load');

console.log(`snapshot bench: ${RUNS} restores; ${load()}`);
const without = await sizes('without init_on_free', hostCmdline().replace(/\s*init_on_free=\S+/, ''));
const shipped = await sizes('shipped (init_on_free=1)', hostCmdline());

console.log('\nstate of a freshly booted container host (128 MiB RAM)');
console.log('| command line | raw state | gzip | deflate-raw | save_state | compress |');
console.log('|---|---|---|---|---|---|');
for (const s of [without, shipped]) {
  console.log(`| ${s.label} | ${mib(s.saved.rawBytes)} | ${mib(s.saved.storedBytes)} | ${mib(s.deflate)} | ${ms(s.saved.saveMs)} | ${ms(s.saved.encodeMs)} |`);
}

const rows: { build: number; decode: number; restore: number; shell: number; mux: number; ready: number; instructions: number }[] = [];
for (let i = 0; i < RUNS; i++) {
  const b0 = performance.now();
  const r = await restoreMachine('host', shipped.saved.file, shipped.opts);
  const build = r.t0 - b0;
  const i0 = r.m.instructions();
  const port = v86VirtioPort(r.m.emulator, 1);
  let muxAt = 0;
  const mux = port.host.ready.then(() => (muxAt = performance.now() - r.t0));
  r.m.type('echo re""ady\n');
  await r.m.waitFor(/^ready\r?$/m, 30_000, 'echo ready');
  const shellAt = performance.now() - r.t0;
  await mux;
  const instructions = (r.m.instructions() - i0) >>> 0;
  rows.push({ build, decode: r.decodeMs, restore: r.restoreMs, shell: shellAt, mux: muxAt, ready: Math.max(shellAt, muxAt), instructions });
  port.close();
  await r.m.stop();
}

console.log(`\nwarm start: restore → host ready, ${RUNS} runs (median; min–max); ${load()}`);
console.log('| step | median | min | max |');
console.log('|---|---|---|---|');
const line = (name: string, xs: number[]) => console.log(`| ${name} | ${ms(median(xs))} | ${ms(Math.min(...xs))} | ${ms(Math.max(...xs))} |`);
line(
  'build emulator (wasm, BIOS; before the restore)',
  rows.map((r) => r.build),
);
line(
  'inflate the snapshot (gzip)',
  rows.map((r) => r.decode),
);
line(
  'v86 restore_state',
  rows.map((r) => r.restore),
);
line(
  'restore → `echo ready` answered',
  rows.map((r) => r.shell),
);
line(
  'restore → boxd READY on the mux',
  rows.map((r) => r.mux),
);
line(
  '**restore → host ready (both)**',
  rows.map((r) => r.ready),
);
const mi = rows.map((r) => r.instructions / 1e6);
console.log(
  `| guest instructions, restore → ready (load-independent) | ${median(mi).toFixed(2)} M | ${Math.min(...mi).toFixed(2)} M | ${Math.max(...mi).toFixed(2)} M |`,
);
console.log(`\ncold boot for comparison: power-on → host ready ${ms(shipped.bootMs)} (this run). Target: warm ≤ 300 ms.`);
process.exit(0);
