// Boot/start time: a VM's power-on to its shell (cold) and from a saved state (warm), vs a container's
// start in a host that just booted (cold) or has been up a while (warm), each with its phase split.
import { formatMs, formatInstructions } from '../machine/timers.ts';
import { formatBytes, sleep, withLab } from './common.ts';
import type { BootMark, ContainerHandle } from './driver.ts';
import type { Experiment } from './types.ts';

/** Duration of each phase up to the finish marker (login:, host ready), which ends the last one. */
function phaseSplit(marks: BootMark[], endMs: number): { phase: string; ms: number }[] {
  return marks.slice(0, -1).map((m, i) => ({ phase: m.phase, ms: (marks[i + 1]?.wallMs ?? endMs) - m.wallMs }));
}

export const boot: Experiment = {
  id: 'boot',
  title: 'Boot/start time',
  explain:
    'A VM starts like a PC: firmware, bootloader, its own kernel, init and services, before a shell answers. A container is a process the already running host kernel starts in new namespaces: no firmware, no kernel boot. Cold = from power-on; warm = a VM resumed from a saved state, a container in a host that was already up.',
  costSeconds: 20,
  params: [
    { name: 'idleMs', default: 2000, unit: 'ms', what: 'how long the host idles before the warm container start (boxd prepares namespaces while idle)' },
  ],
  run: (driver, ctx) =>
    withLab(driver, ctx, async (lab) => {
      // ---- VM cold: power-on → login → shell.
      lab.progress('VM: cold boot', 0.05);
      const vm = await lab.vm({ label: 'boot-vm' });
      const vmReady = vm.boot.ready;
      lab.figure('vm', 'vm.cold.ms', 'cold boot: power-on → login:', vmReady.wallMs, 'ms', { dependsOnLoad: true });
      lab.figure('vm', 'vm.cold.instructions', 'cold boot, guest instructions', vmReady.instructions, 'instructions');
      for (const p of phaseSplit(vm.boot.marks, vmReady.wallMs))
        lab.figure('vm', `vm.phase.${p.phase}`, `phase ${p.phase}`, p.ms, 'ms', { dependsOnLoad: true });

      // ---- VM warm: save the running VM, resume a new one from that state.
      lab.progress('VM: saving its state, resuming a copy', 0.3);
      const state = await vm.saveState();
      await lab.stop(vm);
      const t0 = driver.now();
      const warm = await lab.vm({ label: 'boot-vm-warm', restore: state });
      lab.figure('vm', 'vm.warm.ms', 'warm: resume saved state → shell answers', warm.boot.ready.wallMs, 'ms', {
        dependsOnLoad: true,
        how: 'v86 restore_state, then one command',
      });
      lab.figure('vm', 'vm.warm.totalMs', 'warm, including building the emulator', driver.now() - t0, 'ms', { dependsOnLoad: true });
      lab.figure('vm', 'vm.state.bytes', 'saved state size', state.bytes, 'bytes');
      await lab.stop(warm);

      // ---- container host cold, then a container at once (nothing prepared), then a warm one.
      lab.progress('container host: cold boot', 0.5);
      const host = await lab.host({ label: 'boot-host' });
      const hostReady = host.boot.ready;
      lab.figure('host', 'host.cold.ms', 'host cold boot: power-on → ready', hostReady.wallMs, 'ms', { dependsOnLoad: true });
      lab.figure('host', 'host.cold.instructions', 'host cold boot, guest instructions', hostReady.instructions, 'instructions');
      for (const p of phaseSplit(host.boot.marks, hostReady.wallMs))
        lab.figure('host', `host.phase.${p.phase}`, `host phase ${p.phase}`, p.ms, 'ms', { dependsOnLoad: true });

      const startFigures = (c: ContainerHandle, kind: 'cold' | 'warm') => {
        const s = c.start;
        lab.figure('container', `container.${kind}.ms`, `${kind} start: request → first prompt byte (guest clock)`, s.firstOutputMs ?? NaN, 'ms', {
          dependsOnLoad: true,
        });
        lab.figure('container', `container.${kind}.wallMs`, `${kind} start, wall`, s.wallMs, 'ms', { dependsOnLoad: true });
        lab.figure(
          'container',
          `container.${kind}.instructions`,
          `${kind} start, host guest instructions${kind === 'cold' ? ' (with boxd’s after-boot work: layer unpacking, namespace preparation)' : ''}`,
          s.instructions,
          'instructions',
        );
        // Each phase from the previous stamp to its own. A loop, not slice(1).forEach: prettier formats that chain differently on each pass.
        for (const [i, p] of s.phases.entries()) {
          const prev = s.phases[i - 1];
          if (prev)
            lab.figure('container', `container.${kind}.phase.${p.name}`, `${kind} phase ${prev.name} → ${p.name}`, p.ms - prev.ms, 'ms', {
              dependsOnLoad: true,
            });
        }
      };
      lab.progress('container: cold start (right after the host booted)', 0.75);
      const cold = await lab.container(host, 'busybox', { name: 'boot-cold' });
      startFigures(cold, 'cold');
      lab.figure(
        'container',
        'container.coldWithHost.ms',
        'cold incl. host boot: host power-on → container prompt',
        hostReady.wallMs + cold.start.wallMs,
        'ms',
        { dependsOnLoad: true },
      );
      await sleep(lab.param('idleMs', 2000));
      lab.progress('container: warm start (host up and idle)', 0.9);
      const warmC = await lab.container(host, 'busybox', { name: 'boot-warm' });
      startFigures(warmC, 'warm');

      const vmMs = vmReady.wallMs;
      const cMs = warmC.start.firstOutputMs ?? warmC.start.wallMs;
      lab.note(
        `Counted in guest instructions, which do not depend on the machine's load: VM boot ${formatInstructions(vmReady.instructions)}, container start ${formatInstructions(warmC.start.instructions)} (${(vmReady.instructions / warmC.start.instructions).toFixed(0)}× fewer).`,
      );
      lab.note(
        `A warm VM skips the boot by resuming a saved memory snapshot (${formatBytes(state.bytes)} here, about its RAM); a container needs no snapshot: its kernel is already running.`,
      );
      return lab.result('boot', {
        vm: `cold ${formatMs(vmMs)}, warm ${formatMs(warm.boot.ready.wallMs)}`,
        container: `warm ${formatMs(cMs)}, cold ${formatMs(cold.start.firstOutputMs ?? cold.start.wallMs)} (+ host boot ${formatMs(hostReady.wallMs)})`,
        host: `host boot ${formatMs(hostReady.wallMs)}`,
      });
    }),
};
