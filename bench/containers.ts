// npm run bench:containers [-- --runs N] [-- --idle N] [-- --burst N] [-- --gap MS] [-- --volumes] [-- --trace] — boot the container host once in
// Node, start containers over the box mux and print medians: request → first prompt byte (guest
// CLOCK_MONOTONIC from boxd's STARTED / FIRST_OUTPUT, host wall time, guest instructions), the phase split,
// for "warm" starts (boxd had idle time to prepare namespaces) and "cold" ones (started
// back to back, so it had none); then a burst of N requested at once (first and last prompt: one
// start must not hold back another's prompt); then idle shells and their memory.current.
// --trace: also guest instructions per phase, from (wall, instructions) sampled at each turn of the
// event loop (v86 runs a slice per turn) and boxd's phase stamps mapped onto the wall clock (v86's
// guest clock is the host's performance.now(); the offset is taken from the start's own frames).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIST, Machine, shStatus } from '../tests/boot/harness.ts';
import { MARKERS } from '../src/core/markers.ts';
import { encodeFrame, FrameType as T, MuxDecoder, type Frame } from '../src/core/mux/frames.ts';
import { virtioConsoleQueue, virtioQueueEnabled } from '../src/core/mux/v86-port.ts';

const argv = process.argv.slice(2);
const opt = (name: string, fallback: number) => Number(argv[argv.indexOf(name) + 1]) || fallback;
const runs = opt('--runs', 7);
const idle = opt('--idle', 50);
const burst = opt('--burst', 12);
const volumes = argv.includes('--volumes') ? ['-v', 'benchvol:/data', '-v', '/tmp:/host'] : [];
/** Host wall ms between warm starts at least: boxd's idle time to prepare the next namespaces. */
const gap = opt('--gap', 1000);
const trace = argv.includes('--trace');

const PHASES = ['received', 'layers', 'namespaces', 'mounts', 'cgroup', 'network', 'exec'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const args = (...a: string[]) => new TextEncoder().encode(a.map((s) => `${s}\0`).join(''));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;

/** Every layer of the committed OCI layout (hex digests): boxd unpacks those not pre-pulled while idle. */
function allLayers(): string[] {
  const oci = join(DIST, 'oci');
  const blob = (digest: string) => JSON.parse(readFileSync(join(oci, 'blobs/sha256', digest.slice(7)), 'utf8'));
  const index = JSON.parse(readFileSync(join(oci, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  return [...new Set(index.manifests.flatMap((e) => (blob(e.digest) as { layers: { digest: string }[] }).layers.map((l) => l.digest.slice(7))))];
}

const m = new Machine('host');
const frames: (Frame & { at: number; instructions: number })[] = [];
const decoder = new MuxDecoder({
  frame: (f) => frames.push({ ...f, at: performance.now(), instructions: m.instructions() }),
  error: () => {},
});
m.emulator.add_listener('virtio-console1-output-bytes', (b: Uint8Array) => decoder.feed(b));
const pending: Uint8Array[] = [];
const pump = setInterval(() => {
  // Only once the guest driver enabled the queue: before that has_request() reads address 0.
  const q = virtioConsoleQueue(m.emulator, 1);
  while (q && virtioQueueEnabled(q) && pending.length && q.has_request()) m.emulator.bus.send('virtio-console1-input-bytes', pending.shift());
}, 1);
const send = (type: number, channel: number, payload?: Uint8Array) => pending.push(encodeFrame(type, channel, payload));
const u64 = (f: Frame, at: number) => Number(new DataView(f.payload.buffer, f.payload.byteOffset).getBigUint64(at, true));

async function waitFrame(pred: (f: Frame) => boolean, what: string): Promise<(typeof frames)[number]> {
  const deadline = performance.now() + 60_000;
  for (;;) {
    const f = frames.find(pred);
    if (f) return f;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(1);
  }
}

/**
 * Until the guest idles (halted, under 100 k instructions in the last 300 ms of wall time): boxd has
 * then prepared the next start. On a loaded host a fixed gap is not enough: the emulator gets a share
 * of a core, and a request would arrive while the prepared child still mounts.
 */
async function guestIdle() {
  const deadline = performance.now() + 30_000;
  const seen: [number, number][] = [];
  for (;;) {
    const now = performance.now();
    seen.push([now, m.instructions()]);
    while (seen.length > 1 && seen[1]![0] <= now - 300) seen.shift();
    const quiet = seen[0]![0] <= now - 300 && seen.at(-1)![1] - seen[0]![1] < 100_000;
    if ((quiet && m.emulator.v86.cpu.in_hlt[0]) || now > deadline) return;
    await sleep(20);
  }
}

let channel = 100;
interface Start {
  guestMs: number;
  wallMs: number;
  /** Guest instructions from the request to the first byte: the work, whatever the host's load. */
  minstr: number;
  split: number[]; // per phase after "received", then exec → first output
  /** With --trace: guest instructions (M) per phase, the same columns as split, then request → received. */
  splitMinstr?: number[];
}

/** (performance.now(), instructions) at each event-loop turn, for --trace. */
const samples: [number, number][] = [];
let sampling = false;
function sample() {
  samples.push([performance.now(), m.instructions()]);
  if (sampling) setImmediate(sample);
}
/** Instructions executed by host time t (ms), interpolated between samples. */
function instructionsAt(t: number): number {
  let lo = 0;
  let hi = samples.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (samples[mid]![0] <= t) lo = mid;
    else hi = mid;
  }
  const [t0, i0] = samples[lo]!;
  const [t1, i1] = samples[hi]!;
  return t1 > t0 ? i0 + ((i1 - i0) * Math.min(Math.max(t - t0, 0), t1 - t0)) / (t1 - t0) : i0;
}

async function start(): Promise<Start> {
  const ch = ++channel;
  const t0 = performance.now();
  const i0 = m.instructions();
  send(T.RUN, ch, args('-it', ...volumes, 'busybox', 'sh'));
  const first = await waitFrame((f) => f.channel === ch && (f.type === T.FIRST_OUTPUT || f.type === T.ERROR), `start on ${ch}`);
  if (first.type === T.ERROR) throw new Error(new TextDecoder().decode(first.payload.subarray(4)));
  const started = await waitFrame((f) => f.channel === ch && f.type === T.STARTED, `STARTED ${ch}`);
  const ns = PHASES.map((_, i) => u64(started, 8 + 8 * i));
  const firstNs = u64(first, 0);
  let splitMinstr: number[] | undefined;
  if (trace) {
    // Guest ns → host ms: a frame arrives after boxd stamped it, so the smallest (arrival − stamp) of
    // this start's frames bounds the offset (STARTED is sent once its exec is seen).
    const offset = Math.min(first.at - firstNs / 1e6, started.at - ns[6]! / 1e6);
    const at = [...ns, firstNs].map((n) => instructionsAt(n / 1e6 + offset));
    splitMinstr = [...at.slice(1).map((x, k) => (x - at[k]!) / 1e6), (at[0]! - i0) / 1e6];
  }
  return {
    splitMinstr,
    guestMs: (firstNs - ns[0]!) / 1e6,
    wallMs: first.at - t0,
    minstr: (first.instructions - i0) / 1e6,
    split: [...ns.slice(1).map((t, i) => (t - ns[i]!) / 1e6), (firstNs - ns[6]!) / 1e6],
  };
}

function report(name: string, xs: Start[]) {
  const cols = [...PHASES.slice(1), 'first byte'];
  console.log(`\n${name} starts (${xs.length}): request → first prompt byte`);
  console.log(`  median ${median(xs.map((x) => x.guestMs)).toFixed(1)} ms guest clock, ${median(xs.map((x) => x.wallMs)).toFixed(1)} ms host wall`);
  console.log(`  median ${median(xs.map((x) => x.minstr)).toFixed(1)} M guest instructions (load-independent)`);
  console.log(`  all (guest ms): ${xs.map((x) => x.guestMs.toFixed(1)).join(' ')}`);
  console.log(`  all (M instructions): ${xs.map((x) => x.minstr.toFixed(2)).join(' ')}`);
  console.log(`  phase medians (ms): ${cols.map((c, i) => `${c} ${median(xs.map((x) => x.split[i]!)).toFixed(1)}`).join(', ')}`);
  if (trace) {
    const k = [...cols, 'request → received'];
    console.log(`  phase medians (k instructions): ${k.map((c, i) => `${c} ${(median(xs.map((x) => x.splitMinstr![i]!)) * 1e3).toFixed(0)}`).join(', ')}`);
  }
}

try {
  await m.waitFor(MARKERS.hostReady, 90_000, 'host ready');
  // boxd unpacks layers (in nice'd children) and prepares namespaces while idle: give it that time
  // once, until every layer is there, so no unpack shares the CPU with the starts measured.
  m.type('\n');
  await m.waitFor(/# $/m, 20_000, 'host shell');
  const wait = allLayers().map((hex) => `until [ -d /var/lib/box/layers/${hex} ]; do usleep 100000; done`);
  await shStatus(m, wait.join('; '), 600_000);
  await sleep(2000);
  if (trace) {
    sampling = true;
    sample();
  }
  const warm: Start[] = [];
  for (let i = 0; i < runs; i++) {
    await sleep(gap);
    await guestIdle();
    warm.push(await start());
  }
  const cold: Start[] = [];
  for (let i = 0; i < runs; i++) cold.push(await start());
  report('warm (namespaces prepared while idle)', warm);
  report('cold (back to back, nothing prepared)', cold);

  // A burst, as a race starts its containers: all requests in one go, after idle time.
  await sleep(3000);
  await guestIdle();
  const i0 = m.instructions();
  const chans = Array.from({ length: burst }, () => ++channel);
  for (const ch of chans) send(T.RUN, ch, args('-it', 'busybox', 'sh'));
  const firsts = [];
  let t0 = Infinity;
  for (const ch of chans) {
    const started = await waitFrame((f) => f.channel === ch && (f.type === T.STARTED || f.type === T.ERROR), `burst STARTED ${ch}`);
    if (started.type === T.ERROR) throw new Error(new TextDecoder().decode(started.payload.subarray(4)));
    t0 = Math.min(t0, u64(started, 8));
    firsts.push(await waitFrame((f) => f.channel === ch && f.type === T.FIRST_OUTPUT, `burst FIRST_OUTPUT ${ch}`));
  }
  const promptMs = firsts.map((f) => (u64(f, 0) - t0) / 1e6).sort((a, b) => a - b);
  const promptMinstr = firsts.map((f) => (f.instructions - i0) / 1e6).sort((a, b) => a - b);
  console.log(`\n${burst} at once: request → first prompt byte`);
  console.log(`  first ${promptMs[0]!.toFixed(1)} ms, median ${median(promptMs).toFixed(1)} ms, last ${promptMs.at(-1)!.toFixed(1)} ms guest clock`);
  console.log(`  first ${promptMinstr[0]!.toFixed(1)} M, last ${promptMinstr.at(-1)!.toFixed(1)} M guest instructions (load-independent)`);

  for (let i = 2 * runs + burst; i < idle; i++) await start();
  await sleep(2000);
  const from = frames.length;
  send(T.STATS, 0);
  await sleep(3000);
  const stats = frames.slice(from).filter((f) => f.type === T.STATS_REPLY);
  const mem = stats.map((f) => u64(f, 0));
  console.log(`\n${stats.length} idle shells: memory.current median ${(median(mem) / 1024).toFixed(0)} KiB, max ${(Math.max(...mem) / 1024).toFixed(0)} KiB`);
  m.type('\n');
  await m.waitFor(/# $/m, 20_000, 'host shell');
  console.log((await m.run('free', 60_000)).trim());
} finally {
  sampling = false;
  clearInterval(pump);
  await m.stop();
}
process.exit(0);
