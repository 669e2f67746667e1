// npm run bench:boot [-- --runs N] [-- --qemu] [-- --host|--vm] [-- --lan] — boot each guest N times in Node
// and print, per stage, the median and spread of wall ms and guest instructions (v86
// get_instruction_counter), then the CPU an idle booted guest takes. Stages are read off the serial
// log with src/core/markers.ts. With --qemu the same files also boot in qemu-system-i386 (TCG),
// run for run alternating with v86 so both see the same load, and the table gains QEMU's medians
// and the v86/QEMU ratio. The summary compares VM login: with host ready from the same run.
// With --lan each guest boots with a virtio NIC on a switch, as in the lab (the host then configures
// eth0 and forwarding: what joining the page's LAN costs its boot).
import { cpus, loadavg } from 'node:os';
import { Machine, type GuestKind } from '../tests/boot/harness.ts';
import { MARKERS, type MarkerName } from '../src/core/markers.ts';
import { EthernetSwitch, lanMac } from '../src/core/lan/index.ts';
import { bootInQemu, ensureQemu } from './qemu-peer.ts';

const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || 5;
const only = args.includes('--vm') ? ['vm'] : args.includes('--host') ? ['host'] : ['host', 'vm'];
const withQemu = args.includes('--qemu');
const withLan = args.includes('--lan');
/** A NIC on a fresh switch when --lan: the same device the lab gives each machine. */
const lanOptions = () => (withLan ? { lan: { switch: new EthernetSwitch(), mac: lanMac(9, 1), nic: 'virtio' as const } } : {});

const STAGES: Record<GuestKind, MarkerName[]> = {
  vm: ['bootloader', 'kernel', 'init', 'services', 'login'],
  host: ['kernel', 'init', 'hostReady'],
};

interface Sample {
  wallMs: number;
  instructions: number;
}

async function bootOnce(kind: GuestKind): Promise<Record<string, Sample>> {
  const m = new Machine(kind, lanOptions());
  const marks: Record<string, Sample> = {};
  try {
    // Wait for every stage in parallel; each resolves when its line first appears.
    await Promise.all(
      STAGES[kind].map((s) =>
        m.waitFor(MARKERS[s], 60_000, s).then((mark) => {
          marks[s] = { wallMs: mark.wallMs, instructions: mark.instructions };
        }),
      ),
    );
  } finally {
    await m.stop();
  }
  return marks;
}

/**
 * CPU the emulator takes once the guest is idle. A freshly booted guest still finishes work
 * (the container host's boxd unpacks the lua layer in the background), so measure 2 s windows
 * until one is quiet or 20 s have passed, and report that window and when it came.
 */
async function idleCpu(kind: GuestKind): Promise<{ pct: number; afterMs: number }> {
  const m = new Machine(kind);
  const ready = await m.waitFor(kind === 'vm' ? MARKERS.login : MARKERS.hostReady, 60_000);
  let pct = 100;
  while (m.elapsedMs() - ready.wallMs < 20_000) {
    const u0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 2000));
    const u = process.cpuUsage(u0);
    pct = ((u.user + u.system) / 1000 / (performance.now() - t0)) * 100;
    if (pct < 5) break;
  }
  const afterMs = m.elapsedMs() - ready.wallMs;
  await m.stop();
  return { pct, afterMs };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const spread = (xs: number[]) => Math.max(...xs) - Math.min(...xs);
const fmt = (n: number, d = 0) => n.toFixed(d).padStart(9);

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
console.log(
  `stacklab boot benchmark: ${runs} runs per guest${withLan ? ', each with a virtio NIC on a switch' : ''}, ${cpus().length}× ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, load ${load()}`,
);
if (withQemu) console.log(`peer: ${ensureQemu()} (TCG), same files; its wall ms include QEMU's own start-up`);
console.log('');
const finals: Partial<Record<GuestKind, number>> = {};
for (const kind of only as GuestKind[]) {
  const samples: Record<string, Sample>[] = [];
  const qemu: Record<string, number>[] = [];
  for (let i = 0; i < runs; i++) {
    samples.push(await bootOnce(kind));
    if (withQemu) qemu.push(await bootInQemu(kind, STAGES[kind]));
    process.stderr.write(
      `  ${kind} run ${i + 1}/${runs}: ${samples.at(-1)![STAGES[kind].at(-1)!].wallMs.toFixed(0)} ms${withQemu ? `, QEMU ${qemu.at(-1)![STAGES[kind].at(-1)!].toFixed(0)} ms` : ''}\r`,
    );
  }
  process.stderr.write('\n');
  console.log(`${kind === 'vm' ? 'VM (power-on → login:)' : 'container host (power-on → ready)'}`);
  const q = withQemu ? ` ${'QEMU ms'.padStart(9)} ${'v86/QEMU'.padStart(9)}` : '';
  console.log(
    `  ${'reached'.padEnd(12)} ${'wall ms'.padStart(9)} ${'± spread'.padStart(9)} ${'M instr'.padStart(9)} ${'± spread'.padStart(9)} ${'stage ms'.padStart(9)}${q}  (cumulative from power-on; stage = since the previous line)`,
  );
  STAGES[kind].forEach((s, i) => {
    const w = samples.map((x) => x[s].wallMs);
    const n = samples.map((x) => x[s].instructions / 1e6);
    const prev = STAGES[kind][i - 1];
    const d = samples.map((x) => x[s].wallMs - (prev ? x[prev].wallMs : 0));
    const qm = withQemu ? median(qemu.map((x) => x[s])) : 0;
    const qcol = withQemu ? ` ${fmt(qm)} ${fmt(median(w) / qm, 2)}` : '';
    console.log(`  ${s.padEnd(12)} ${fmt(median(w))} ${fmt(spread(w))} ${fmt(median(n), 1)} ${fmt(spread(n), 1)} ${fmt(median(d))}${qcol}`);
  });
  finals[kind] = median(samples.map((x) => x[STAGES[kind].at(-1)!].wallMs));
  const idle = await idleCpu(kind);
  console.log(`  idle CPU: ${idle.pct.toFixed(1)} % of one core (2 s window ending ${(idle.afterMs / 1000).toFixed(1)} s after the prompt)\n`);
}
if (finals.vm && finals.host) console.log(`VM login: / host ready, medians of this run: ${(finals.vm / finals.host).toFixed(2)}× (target ≥ 2.5×)`);
console.log(`load at the end: ${load()}`);
process.exit(0);
