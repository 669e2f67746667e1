// npm run bench:mux-in [-- --runs N] [-- --image NAME]
// What bytes into the container host over the box mux cost, against the same bytes from its disk:
// one host booted in Node with the page's MuxHost on virtio-console port 1 (v86VirtioPort, as the
// lab wires it), the example app built (`box build`, as the Portability experiment does), its OCI
// archive saved twice (over the mux, and to /tmp in the guest), then loaded N times each way in turn:
// `box load -i /tmp/app.tar` (the disk) and MuxHost.load (LOAD/LOAD_DATA frames, streamed). Guest
// instructions (v86's counter: independent of the machine's load) and wall ms per run and per MiB;
// the table gives medians and the spread.
import { loadavg } from 'node:os';
import { boot, shStatus, type Machine } from '../tests/boot/harness.ts';
import { MARKERS } from '../src/core/markers.ts';
import { v86VirtioPort } from '../src/core/mux/v86-port.ts';
import { MUX_LOAD_WINDOW } from '../src/core/mux/frames.ts';
import { median } from '../src/core/experiments/index.ts';

const argv = process.argv.slice(2);
const value = (name: string) => argv.flatMap((a, i) => (a === name && argv[i + 1] ? [argv[i + 1]!] : []))[0];
const runs = Math.max(1, Number(value('--runs') ?? 3) || 3);
/** The image to move: by default the Portability experiment's app, built here from the host's example context. */
const image = value('--image') ?? 'port-app';
const MIB = 1024 * 1024;

interface Sample {
  way: 'disk' | 'mux';
  instructions: number;
  wallMs: number;
}

async function sh(m: Machine, cmd: string, timeoutMs = 300_000): Promise<string> {
  const r = await shStatus(m, cmd, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd}: exit ${r.code}\n${r.out}`);
  return r.out;
}

const load0 = loadavg();
const m = await boot('host');
const port = v86VirtioPort(m.emulator, 1);
try {
  await m.waitFor(MARKERS.hostReady, 120_000, 'host ready');
  m.type('\n');
  await m.waitFor(/# $/m, 20_000, 'host shell');
  await port.host.ready;
  if (image === 'port-app') await sh(m, 'box build -t port-app /root/example-app >/dev/null');
  const saved = await port.host.cmdBytes(['save', image], 120_000);
  if (saved.code !== 0) throw new Error(`box save ${image}: ${saved.stderr}`);
  const archive = saved.bytes;
  await sh(m, `box save ${image} -o /tmp/app.tar`);
  const inGuest = (await sh(m, 'wc -c < /tmp/app.tar')).trim();
  if (Number(inGuest) !== archive.length) throw new Error(`box save wrote ${inGuest} bytes in the guest, ${archive.length} over the mux`);
  process.stderr.write(`[mux-in] ${image}: ${archive.length} bytes; ${runs} runs each way\n`);

  const samples: Sample[] = [];
  const measure = async (way: Sample['way'], body: () => Promise<void>) => {
    const i0 = m.instructions();
    const t0 = performance.now();
    await body();
    samples.push({ way, instructions: m.instructions() - i0, wallMs: performance.now() - t0 });
    const s = samples.at(-1)!;
    process.stderr.write(`[mux-in] ${way}: ${(s.instructions / 1e6).toFixed(1)} M instructions, ${s.wallMs.toFixed(0)} ms\n`);
  };
  for (let i = 0; i < runs; i++) {
    await measure('disk', async () => {
      const out = await sh(m, 'box load -i /tmp/app.tar');
      if (!/^Loaded image: /m.test(out)) throw new Error(`box load -i: ${out}`);
    });
    await measure('mux', async () => {
      const retries0 = port.host.counters.retries;
      let starved = 0;
      let acks = 0;
      const r = await port.host.load(archive, {
        name: 'app.tar',
        stallMs: 120_000,
        // An ACK that finds nothing queued for the guest while bytes remain beyond the window (so
        // the sender cannot have sent them all): the sender had been held by the window.
        onProgress: (taken, total) => {
          acks++;
          if (taken + MUX_LOAD_WINDOW < total && port.host.pending === 0) starved++;
        },
      }).done;
      if (r.code !== 0) throw new Error(`LOAD: ${r.text}`);
      process.stderr.write(
        `[mux-in]   ${acks} LOAD_ACKs, ${starved} found the host's queue empty; ${port.host.counters.retries - retries0} push retries (no guest buffer)\n`,
      );
    });
  }

  const rows = (['disk', 'mux'] as const).map((way) => {
    const mine = samples.filter((s) => s.way === way);
    const ins = mine.map((s) => s.instructions);
    const wall = mine.map((s) => s.wallMs);
    return {
      way: way === 'disk' ? 'box load -i /tmp/app.tar (disk)' : 'MuxHost.load (LOAD frames)',
      'M instr (median)': (median(ins) / 1e6).toFixed(1),
      'M instr (min–max)': `${(Math.min(...ins) / 1e6).toFixed(1)}–${(Math.max(...ins) / 1e6).toFixed(1)}`,
      'M instr / MiB': (median(ins) / 1e6 / (archive.length / MIB)).toFixed(1),
      'wall ms (median)': median(wall).toFixed(0),
      'wall ms / MiB': (median(wall) / (archive.length / MIB)).toFixed(0),
    };
  });
  console.log(
    `\n${image}: ${archive.length} bytes, ${runs} runs each way; load average ${load0.map((l) => l.toFixed(2)).join(' ')} → ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.table(rows);
  const ratio =
    median(samples.filter((s) => s.way === 'mux').map((s) => s.instructions)) / median(samples.filter((s) => s.way === 'disk').map((s) => s.instructions));
  console.log(`mux ÷ disk, guest instructions: ${ratio.toFixed(2)}×`);
} finally {
  port.close();
  await m.stop();
}
process.exit(0);
