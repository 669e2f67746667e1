// Isolation: what a process inside each machine can see: the kernel, PID 1, the process list, and
// whether a process in a neighbour shows up.
import { ok, withLab } from './common.ts';
import type { ContainerHandle, MachineHandle } from './driver.ts';
import type { Experiment, Side } from './types.ts';

type Shell = Pick<MachineHandle, 'run'> | Pick<ContainerHandle, 'run'>;

const PROBE = 'uname -r; cat /proc/1/comm; ps | tail -n +2 | wc -l';

async function look(shell: Shell, what: string) {
  const [kernel = '', pid1 = '', count = ''] = ok(await shell.run(PROBE), `${what}: ${PROBE}`)
    .split('\n')
    .map((s) => s.trim());
  return { kernel, pid1, processes: Number(count) };
}

export const isolation: Experiment = {
  id: 'isolation',
  title: 'Isolation',
  explain:
    'Each VM runs its own kernel, so inside it PID 1 is its own init and it sees only its own processes; nothing of the other VMs exists for it. Containers share the host’s kernel: each gets its own PID namespace (its shell is PID 1, it sees only itself), but the host sees every container’s processes as its own.',
  costSeconds: 20,
  run: (driver, ctx) =>
    withLab(driver, ctx, async (lab) => {
      lab.progress('booting two VMs', 0.1);
      const [vm1, vm2] = await Promise.all([lab.vm({ label: 'iso-vm1', memoryMb: 32 }), lab.vm({ label: 'iso-vm2', memoryMb: 32 })]);
      lab.progress('booting the container host, two containers', 0.4);
      const host = await lab.host({ label: 'iso-host' });
      const c1 = await lab.container(host, 'busybox', { name: 'iso-c1' });
      const c2 = await lab.container(host, 'busybox', { name: 'iso-c2' });

      // A recognisable process in the first VM and the first container.
      const marker = `${Math.floor(1000 + Math.random() * 8000)}`;
      ok(await vm1.run(`sleep ${marker}0 & true`), 'start a marker in vm1');
      ok(await c1.run(`sleep ${marker}1 & true`), 'start a marker in c1');

      lab.progress('looking from each machine', 0.7);
      const views: [Side, string, Shell][] = [
        ['vm', 'vm1', vm1],
        ['vm', 'vm2', vm2],
        ['container', 'c1', c1],
        ['container', 'c2', c2],
        ['host', 'host', host],
      ];
      const seen: Record<string, Awaited<ReturnType<typeof look>> & { ps: string }> = {};
      for (const [side, name, shell] of views) {
        const v = await look(shell, name);
        const ps = ok(await shell.run('ps'), `${name}: ps`);
        seen[name] = { ...v, ps };
        lab.show(side, `ps in ${name}`, ps);
      }
      const sees = (name: string, m: string) => new RegExp(`sleep ${m}\\b`).test(seen[name]!.ps);
      lab.figure('vm', 'vm.kernel', 'kernel seen inside (uname -r)', seen.vm1!.kernel, 'text');
      lab.figure('vm', 'vm.pid1', 'PID 1 inside', seen.vm1!.pid1, 'text');
      lab.figure('vm', 'vm.processes', 'processes it sees (ps)', seen.vm1!.processes, 'count');
      lab.figure('vm', 'vm.seesNeighbour', 'VM 2 sees a process of VM 1', sees('vm2', `${marker}0`), 'bool');
      lab.figure('vm', 'vm.sameKernelAsHost', 'same kernel as the container host', seen.vm1!.kernel === seen.host!.kernel, 'bool');
      lab.figure('container', 'container.kernel', 'kernel seen inside (uname -r)', seen.c1!.kernel, 'text');
      lab.figure('container', 'container.pid1', 'PID 1 inside', seen.c1!.pid1, 'text');
      lab.figure('container', 'container.processes', 'processes it sees (ps)', seen.c1!.processes, 'count');
      lab.figure('container', 'container.seesNeighbour', 'container 2 sees a process of container 1', sees('c2', `${marker}1`), 'bool');
      lab.figure(
        'container',
        'container.sameKernelAsHost',
        'same kernel as the container host',
        seen.c1!.kernel === seen.host!.kernel && seen.c2!.kernel === seen.host!.kernel,
        'bool',
      );
      lab.figure('host', 'host.processes', 'processes the host sees', seen.host!.processes, 'count');
      lab.figure('host', 'host.seesContainer', 'the host sees container 1’s process', sees('host', `${marker}1`), 'bool');
      lab.note(
        'Inside a container, ps lists only its own processes and PID 1 is its shell: the PID namespace hides the rest. The host kernel still runs them all, so the host lists them, and every container reports the host’s kernel version.',
      );
      lab.note('A VM shows its own kernel and init: the other VMs are other emulated computers, invisible from inside.');
      return lab.result('isolation', {
        vm: `own kernel ${seen.vm1!.kernel}, PID 1 ${seen.vm1!.pid1}, sees ${seen.vm1!.processes} processes`,
        container: `host kernel ${seen.c1!.kernel}, PID 1 ${seen.c1!.pid1}, sees ${seen.c1!.processes} processes`,
        host: `the host sees ${seen.host!.processes} processes, the containers’ among them`,
      });
    }),
};
