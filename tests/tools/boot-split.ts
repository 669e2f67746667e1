// Where a boot's wall time goes, per stage: the guest halted (HLT: the kernel waiting on a timer or
// an interrupt, the emulator asleep), v86 running guest code, and the CPU time this process took
// (all its threads: v86, V8's compiler and GC; unlike wall time, it barely moves with other load).
// v86's main loop returns after each slice with the CPU halted or not (cpu.main_loop() in v86's
// src/main.js); the time from a halted return to the next call is the guest's sleep.
//   tsx tests/tools/boot-split.ts [host|vm] [--runs N] [--jit] [--cmdline "extra host args"] [--initrd FILE]
// --jit boots with v86's JIT on from power-on (the old policy; src/core/machine/jit.ts).
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Machine, hostCmdline, type GuestKind } from '../boot/harness.ts';
import { PHASES } from '../../src/core/machine/phases.ts';

const args = process.argv.slice(2);
const opt = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const kind: GuestKind = args.includes('vm') ? 'vm' : 'host';
const runs = Number(opt('--runs') ?? 3);
const initrd = opt('--initrd') ? readFileSync(opt('--initrd')!) : undefined;
const stages = PHASES[kind].slice(1);

interface At {
  wallMs: number;
  instructions: number;
  haltedMs: number;
  cpuMs: number;
}

async function bootOnce(): Promise<At[]> {
  const extra: Record<string, unknown> = {};
  if (args.includes('--jit')) extra.disable_jit = false;
  if (opt('--cmdline')) extra.cmdline = `${hostCmdline()} ${opt('--cmdline')}`;
  if (initrd) extra.initrd = { buffer: initrd.buffer.slice(initrd.byteOffset, initrd.byteOffset + initrd.byteLength) };
  const m = new Machine(kind, { extra });
  await m.started;
  const cpu = m.emulator.v86.cpu;
  const mainLoop = cpu.main_loop;
  let haltedMs = 0;
  let lastReturn = 0;
  let halted = false;
  cpu.main_loop = () => {
    const t = performance.now();
    if (halted) haltedMs += t - lastReturn;
    const sleepMs = mainLoop();
    lastReturn = performance.now();
    halted = cpu.in_hlt[0] !== 0;
    return sleepMs;
  };
  const cpu0 = process.cpuUsage();
  try {
    return await Promise.all(
      stages.map((s) =>
        m.waitFor(s.marker!, 120_000, s.name).then((mark) => {
          const u = process.cpuUsage(cpu0);
          return { wallMs: mark.wallMs, instructions: mark.instructions, haltedMs, cpuMs: (u.user + u.system) / 1000 };
        }),
      ),
    );
  } finally {
    await m.stop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const col = (n: number, d = 0) => n.toFixed(d).padStart(9);
const all: At[][] = [];
for (let i = 0; i < runs; i++) all.push(await bootOnce());
console.log(
  `${kind}, ${runs} boots${args.includes('--jit') ? ', JIT on from power-on' : ''}, load ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
console.log(`  ${'stage'.padEnd(11)}${['wall ms', 'halted', 'CPU ms', 'M instr'].map((h) => h.padStart(9)).join(' ')}   (each stage on its own, medians)`);
stages.forEach((s, i) => {
  const d = (f: (a: At) => number) => median(all.map((r) => f(r[i]) - (i ? f(r[i - 1]) : 0)));
  console.log(
    `  ${s.name.padEnd(11)}${col(d((a) => a.wallMs))} ${col(d((a) => a.haltedMs))} ${col(d((a) => a.cpuMs))} ${col(d((a) => a.instructions) / 1e6, 1)}`,
  );
});
process.exit(0);
