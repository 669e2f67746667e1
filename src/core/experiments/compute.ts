// Compute: the same CPU-bound job in a VM, in a container and in the container host's own shell.
import { ok, parseBusyboxTime, settle, withLab } from './common.ts';
import type { Experiment, Side } from './types.ts';

export const compute: Experiment = {
  id: 'compute',
  title: 'Performance (compute)',
  explain:
    'The same job (md5 of zeros piped through dd) runs in a VM, in a container and on the container host. Here every machine is emulated by the same engine, so the CPU work costs the same everywhere: a container is just host processes, and a VM’s guest code runs on the same emulated CPU. On real hardware a VM’s CPU-bound code also runs natively (hardware virtualisation); its overhead shows in I/O and memory paging, not in loops.',
  costSeconds: 30,
  params: [
    { name: 'blocks', default: 128, unit: 'count', what: '64 KiB blocks hashed (128 = 8 MiB)' },
    { name: 'idleMips', default: 2, unit: 'count', what: 'the job starts once both machines run fewer M instructions/s than this (at most 30 s of waiting)' },
  ],
  run: (driver, ctx) =>
    withLab(driver, ctx, async (lab) => {
      const blocks = Math.max(1, Math.round(lab.param('blocks', 128)));
      const job = `time sh -c 'dd if=/dev/zero bs=64k count=${blocks} 2>/dev/null | md5sum' 2>&1`;
      lab.progress('booting a VM and the container host', 0.05);
      const [vm, host] = await Promise.all([lab.vm({ label: 'cpu-vm' }), lab.host({ label: 'cpu-host' })]);
      const c = await lab.container(host, 'busybox', { name: 'cpu-c1' });
      lab.progress('waiting for both machines to idle', 0.25);
      const idle = await settle(lab, [vm, host], lab.param('idleMips', 2), 30_000);
      lab.figure('vm', 'vm.idleMips', 'VM idle rate before the job (M instructions/s)', idle[0]!, 'count');
      lab.figure('host', 'host.idleMips', 'host idle rate before the job (M instructions/s)', idle[1]!, 'count');
      const sides: [Side, string, () => Promise<{ output: string; exitCode: number }>, () => Promise<number>][] = [
        ['vm', 'in a VM', () => vm.run(job, { timeoutMs: 180_000 }), async () => (await vm.stats()).instructions],
        ['container', 'in a container', () => c.run(job, { timeoutMs: 180_000 }), async () => (await host.stats()).instructions],
        ['host', 'on the container host', () => host.run(job, { timeoutMs: 180_000 }), async () => (await host.stats()).instructions],
      ];
      const sums = new Set<string>();
      const ms: number[] = [];
      const instr: number[] = [];
      for (const [i, [side, where, run, counter]] of sides.entries()) {
        lab.progress(`running the job ${where}`, 0.3 + 0.2 * i);
        const i0 = await counter();
        const t0 = driver.now();
        const out = ok(await run(), `job ${where}`);
        const wall = driver.now() - t0;
        const n = (await counter()) - i0;
        const t = parseBusyboxTime(out);
        sums.add(out.split('\n')[0]!.split(/\s+/)[0]!);
        ms.push(t.realMs);
        instr.push(n);
        lab.figure(side, `${side}.ms`, `job time ${where} (guest clock)`, t.realMs, 'ms', { dependsOnLoad: true, how: 'busybox time, real' });
        lab.figure(side, `${side}.wallMs`, `job wall time ${where}`, wall, 'ms', { dependsOnLoad: true });
        lab.figure(side, `${side}.instructions`, `guest instructions ${where}`, n, 'instructions', {
          how: 'the emulator’s instruction counter of that machine, around the command',
        });
      }
      if (sums.size !== 1) throw new Error(`the three machines computed different results: ${[...sums].join(', ')}`);
      lab.figure('container', 'spread.ms', 'slowest / fastest (guest time)', Math.max(...ms) / Math.min(...ms), 'ratio', { dependsOnLoad: true });
      lab.figure('container', 'spread.instructions', 'most / fewest guest instructions', Math.max(...instr) / Math.min(...instr), 'ratio');
      lab.note('Guest instruction counts do not depend on the load of the machine running the emulator; the times do (this machine may be shared).');
      lab.note(
        'What differs between the three is the kernel on the path (the VM runs Linux 6.1, the host and container 6.12) and the pipe and page-cache work it does, not the CPU.',
      );
      const fmt = (i: number) => `${ms[i]!.toFixed(0)} ms, ${(instr[i]! / 1e6).toFixed(0)} M instr`;
      return lab.result('compute', { vm: fmt(0), container: fmt(1), host: fmt(2) });
    }),
};
