// Memory: a VM's guest RAM (given, and used as its own kernel reports) vs a container's cgroup
// memory.current, with the container host's own overhead measured apart.
import { formatBytes, median, ok, parseMeminfo, settle, usedBytes, withLab } from './common.ts';
import type { MachineHandle } from './driver.ts';
import type { Experiment } from './types.ts';

async function meminfo(m: MachineHandle) {
  return parseMeminfo(ok(await m.run('cat /proc/meminfo'), 'cat /proc/meminfo'));
}

export const memory: Experiment = {
  id: 'memory',
  title: 'Memory',
  explain:
    'A VM is given its RAM up front and runs a whole kernel and its services in it. A container is a group of processes whose memory the host kernel counts in a cgroup (memory.current): only what its processes use. The host’s own kernel and daemons are paid once, however many containers run.',
  costSeconds: 15,
  params: [{ name: 'containers', default: 5, unit: 'count', what: 'idle shells started to measure per-container memory' }],
  run: (driver, ctx) =>
    withLab(driver, ctx, async (lab) => {
      lab.progress('VM: boot and read /proc/meminfo', 0.1);
      const vm = await lab.vm({ label: 'mem-vm' });
      const vmInfo = await meminfo(vm);
      const vmUsed = usedBytes(vmInfo);
      lab.figure('vm', 'vm.given', 'guest RAM given', vm.memoryMb * 2 ** 20, 'bytes', { how: 'the emulator’s memory size' });
      lab.figure('vm', 'vm.memTotal', 'RAM its kernel manages (MemTotal)', vmInfo.MemTotal! * 1024, 'bytes', { how: '/proc/meminfo in the VM' });
      lab.figure('vm', 'vm.used', 'used at an idle shell (MemTotal − MemAvailable)', vmUsed, 'bytes', { how: '/proc/meminfo in the VM' });
      lab.show('vm', 'free (inside the VM)', ok(await vm.run('free'), 'free'));
      await lab.stop(vm);

      lab.progress('container host: boot and read /proc/meminfo', 0.4);
      const host = await lab.host({ label: 'mem-host' });
      // boxd unpacks layers and prepares namespaces right after boot: read the host once that is done.
      await settle(lab, [host], 2, 30_000);
      const before = usedBytes(await meminfo(host));
      lab.figure('host', 'host.given', 'host guest RAM given', host.memoryMb * 2 ** 20, 'bytes');
      lab.figure('host', 'host.used', 'host’s own use before any container (kernel, init, boxd)', before, 'bytes', { how: '/proc/meminfo in the host' });

      const n = Math.max(1, Math.round(lab.param('containers', 5)));
      const currents: number[] = [];
      for (let i = 0; i < n; i++) {
        lab.progress(`container ${i + 1} of ${n}`, 0.5 + (0.4 * i) / n);
        const c = await lab.container(host, 'busybox', { name: `mem-c${i + 1}` });
        currents.push((await c.stats()).memoryBytes);
      }
      await settle(lab, [host], 2, 30_000);
      const after = usedBytes(await meminfo(host));
      const perContainer = (after - before) / n;
      lab.figure('container', 'container.memoryCurrent', 'idle shell: memory in use (median)', median(currents), 'bytes', {
        how: `box STATS of ${n} idle busybox shells: cgroup memory.current − inactive_file, as docker stats counts`,
      });
      lab.figure('container', 'container.hostDelta', 'host RAM used per container started', perContainer, 'bytes', {
        how: `(host MemTotal − MemAvailable after ${n} containers − before) / ${n}; includes kernel objects (namespaces, veth, overlay) not charged to the cgroup`,
      });
      lab.show('host', 'free (inside the host)', ok(await host.run('free'), 'free'));
      lab.series.push({
        id: 'container.memoryCurrent',
        side: 'container',
        label: 'memory.current per container',
        xLabel: 'container',
        xUnit: 'count',
        yLabel: 'memory.current',
        yUnit: 'bytes',
        points: currents.map((y, i) => ({ x: i + 1, y })),
      });
      lab.note(
        `The VM's kernel reports ${formatBytes(vmInfo.MemTotal! * 1024)} of the ${formatBytes(vm.memoryMb * 2 ** 20)} given (the rest is firmware areas and the kernel image); all of it stays reserved for that VM whether used or not.`,
      );
      lab.note(
        `memory.current counts pages charged to the container's cgroup; the host also spends memory per container in the kernel (namespaces, network device, overlay mount), measured here as the host's own usage growing by ${formatBytes(perContainer)} per container.`,
      );
      return lab.result('memory', {
        vm: `${formatBytes(vm.memoryMb * 2 ** 20)} given, ${formatBytes(vmUsed)} used`,
        container: `${formatBytes(median(currents))} memory.current; ${formatBytes(perContainer)} of host RAM each`,
        host: `host itself: ${formatBytes(before)} of ${formatBytes(host.memoryMb * 2 ** 20)}`,
      });
    }),
};
