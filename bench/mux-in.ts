// npm run bench:mux-in [-- --runs N] [-- --image NAME] [-- --hvc]
// What bytes into the container host over the box mux cost, against the same bytes from its disk:
// one host booted in Node with the page's MuxHost on virtio-console port 1 (v86VirtioPort, as the
// lab wires it), the example app built (`box build`, as the Portability experiment does), its OCI
// archive saved twice (over the mux, and to /tmp in the guest), then loaded N times each way in turn:
// `box load -i /tmp/app.tar` (the disk) and MuxHost.load (LOAD/LOAD_DATA frames, streamed). With
// --hvc, a second host whose port 1 stays what v86 makes it (a console: the guest's hvc tty, as
// before withholdConsolePort) takes the same streamed loads in the same turns, so both see the
// same machine load. Guest instructions (v86's counter: independent of the machine's load) and
// wall ms per run and per MiB; the table gives medians and the spread.
import { loadavg } from 'node:os';
import { boot, shStatus, type Machine } from '../tests/boot/harness.ts';
import { MARKERS } from '../src/core/markers.ts';
import { MuxHost } from '../src/core/mux/host.ts';
import { v86VirtioPort, virtioConsoleQueue, virtioQueueEnabled } from '../src/core/mux/v86-port.ts';
import { MUX_LOAD_WINDOW } from '../src/core/mux/frames.ts';
import { median } from '../src/core/experiments/index.ts';

const argv = process.argv.slice(2);
const value = (name: string) => argv.flatMap((a, i) => (a === name && argv[i + 1] ? [argv[i + 1]!] : []))[0];
const runs = Math.max(1, Number(value('--runs') ?? 3) || 3);
/** The image to move: by default the Portability experiment's app, built here from the host's example context. */
const image = value('--image') ?? 'port-app';
const withHvc = argv.includes('--hvc');
const MIB = 1024 * 1024;

type Way = 'disk' | 'mux' | 'mux-hvc';
const WAYS: Record<Way, string> = {
  disk: 'box load -i /tmp/app.tar (disk)',
  mux: 'MuxHost.load (LOAD frames)',
  'mux-hvc': 'MuxHost.load, port 1 as v86’s console (hvc)',
};

interface Sample {
  way: Way;
  instructions: number;
  wallMs: number;
}

async function sh(m: Machine, cmd: string, timeoutMs = 300_000): Promise<string> {
  const r = await shStatus(m, cmd, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd}: exit ${r.code}\n${r.out}`);
  return r.out;
}

async function atShell(m: Machine): Promise<void> {
  await m.waitFor(MARKERS.hostReady, 120_000, 'host ready');
  m.type('\n');
  await m.waitFor(/# $/m, 20_000, 'host shell');
}

/** A MuxHost on port 1 left as v86 announces it (a console), wired as v86VirtioPort wires one otherwise. */
function consolePortHost(m: Machine): MuxHost {
  const host = new MuxHost({
    write: (bytes) => m.emulator.bus.send('virtio-console1-input-bytes', bytes),
    canWrite: () => {
      const q = virtioConsoleQueue(m.emulator, 1);
      return !!q && virtioQueueEnabled(q) && q.has_request();
    },
  });
  m.emulator.add_listener('virtio-console1-output-bytes', (bytes: Uint8Array) => host.receive(bytes));
  return host;
}

const load0 = loadavg();
const m = await boot('host');
const port = v86VirtioPort(m.emulator, 1);
const hvc = withHvc ? await boot('host') : undefined;
const hvcHost = hvc && consolePortHost(hvc);
try {
  await Promise.all([atShell(m), hvc && atShell(hvc)]);
  await Promise.all([port.host.ready, hvcHost?.ready]);
  if (hvc && !/serving the mux on \/dev\/hvc1/.test(await sh(hvc, 'cat /var/log/boxd.log')))
    throw new Error('--hvc: boxd in the second host does not serve /dev/hvc1');
  if (image === 'port-app') await sh(m, 'box build -t port-app /root/example-app >/dev/null');
  const saved = await port.host.cmdBytes(['save', image], 120_000);
  if (saved.code !== 0) throw new Error(`box save ${image}: ${saved.stderr}`);
  const archive = saved.bytes;
  await sh(m, `box save ${image} -o /tmp/app.tar`);
  const inGuest = (await sh(m, 'wc -c < /tmp/app.tar')).trim();
  if (Number(inGuest) !== archive.length) throw new Error(`box save wrote ${inGuest} bytes in the guest, ${archive.length} over the mux`);
  process.stderr.write(`[mux-in] ${image}: ${archive.length} bytes; ${runs} runs each way\n`);

  const samples: Sample[] = [];
  const measure = async (way: Way, machine: Machine, body: () => Promise<void>) => {
    const i0 = machine.instructions();
    const t0 = performance.now();
    await body();
    samples.push({ way, instructions: machine.instructions() - i0, wallMs: performance.now() - t0 });
    const s = samples.at(-1)!;
    process.stderr.write(`[mux-in] ${way}: ${(s.instructions / 1e6).toFixed(1)} M instructions, ${s.wallMs.toFixed(0)} ms\n`);
  };
  const streamed = async (host: MuxHost) => {
    const retries0 = host.counters.retries;
    let starved = 0;
    let acks = 0;
    const r = await host.load(archive, {
      name: 'app.tar',
      stallMs: 120_000,
      // An ACK that finds nothing queued for the guest while bytes remain beyond the window (so
      // the sender cannot have sent them all): the sender had been held by the window.
      onProgress: (taken, total) => {
        acks++;
        if (taken + MUX_LOAD_WINDOW < total && host.pending === 0) starved++;
      },
    }).done;
    if (r.code !== 0) throw new Error(`LOAD: ${r.text}`);
    process.stderr.write(
      `[mux-in]   ${acks} LOAD_ACKs, ${starved} found the host's queue empty; ${host.counters.retries - retries0} push retries (no guest buffer)\n`,
    );
  };
  for (let i = 0; i < runs; i++) {
    await measure('disk', m, async () => {
      const out = await sh(m, 'box load -i /tmp/app.tar');
      if (!/^Loaded image: /m.test(out)) throw new Error(`box load -i: ${out}`);
    });
    await measure('mux', m, () => streamed(port.host));
    if (hvc && hvcHost) await measure('mux-hvc', hvc, () => streamed(hvcHost));
  }

  const rows = (Object.keys(WAYS) as Way[]).flatMap((way) => {
    const mine = samples.filter((s) => s.way === way);
    if (!mine.length) return [];
    const ins = mine.map((s) => s.instructions);
    const wall = mine.map((s) => s.wallMs);
    return [
      {
        way: WAYS[way],
        'M instr (median)': (median(ins) / 1e6).toFixed(1),
        'M instr (min–max)': `${(Math.min(...ins) / 1e6).toFixed(1)}–${(Math.max(...ins) / 1e6).toFixed(1)}`,
        'M instr / MiB': (median(ins) / 1e6 / (archive.length / MIB)).toFixed(1),
        'wall ms (median)': median(wall).toFixed(0),
        'wall ms / MiB': (median(wall) / (archive.length / MIB)).toFixed(0),
      },
    ];
  });
  console.log(
    `\n${image}: ${archive.length} bytes, ${runs} runs each way; load average ${load0.map((l) => l.toFixed(2)).join(' ')} → ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.table(rows);
  const of = (way: Way) => median(samples.filter((s) => s.way === way).map((s) => s.instructions));
  console.log(`mux ÷ disk, guest instructions: ${(of('mux') / of('disk')).toFixed(2)}×`);
  if (hvc) console.log(`mux-hvc ÷ disk, guest instructions: ${(of('mux-hvc') / of('disk')).toFixed(2)}×`);
} finally {
  port.close();
  hvcHost?.close();
  await Promise.all([m.stop(), hvc?.stop()]);
}
process.exit(0);
