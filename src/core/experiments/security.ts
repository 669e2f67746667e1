// Security: the blast radius of a kernel crash. One VM's kernel crashes → only that VM dies. A default
// container is refused the crash; a --privileged container can do it, and it is the host's kernel it
// crashes, taking every container with it.
import { withLab } from './common.ts';
import { MARKERS } from '../markers.ts';
import type { Experiment } from './types.ts';

const CRASH = 'echo c > /proc/sysrq-trigger';

export const security: Experiment = {
  id: 'security',
  title: 'Security',
  explain:
    'We crash a kernel on purpose (sysrq "c"). In a VM it is that VM’s own kernel: the VM dies and its neighbours keep running. A container has no kernel of its own: a default container is not allowed to write the trigger, but a --privileged one is, and then the shared host kernel dies with every container on it.',
  costSeconds: 30,
  params: [
    { name: 'vms', default: 2, unit: 'count', what: 'VMs booted; the first one is crashed' },
    { name: 'containers', default: 3, unit: 'count', what: 'default containers beside the privileged one' },
  ],
  run: (driver, ctx) =>
    withLab(driver, ctx, async (lab) => {
      const nVms = Math.max(2, Math.round(lab.param('vms', 2)));
      lab.progress(`booting ${nVms} VMs`, 0.05);
      const vms = await Promise.all(Array.from({ length: nVms }, (_, i) => lab.vm({ label: `sec-vm${i + 1}`, memoryMb: 32 })));
      const [victim, ...others] = vms;
      lab.progress('crashing the kernel of VM 1', 0.25);
      const vmPanic = victim!.waitFor(MARKERS.panic, 120_000);
      victim!.type(`${CRASH}\n`);
      await vmPanic;
      const victimAlive = await victim!.alive(3000);
      let vmSurvivors = 0;
      for (const vm of others) if (await vm.alive(20_000)) vmSurvivors++;
      lab.figure('vm', 'vm.crashedDies', 'the crashed VM stops answering', !victimAlive, 'bool');
      lab.figure('vm', 'vm.survivors', 'other VMs still answering', vmSurvivors, 'count', { how: 'echo in each other VM after VM 1 panicked' });
      lab.figure('vm', 'vm.others', 'other VMs', others.length, 'count');
      if (victim!.panic) lab.show('vm', 'VM 1 console', victim!.panic.line);
      for (const vm of vms) await lab.stop(vm);

      lab.progress('booting the container host and its containers', 0.45);
      const host = await lab.host({ label: 'sec-host' });
      const n = Math.max(1, Math.round(lab.param('containers', 3)));
      const plain = [];
      for (let i = 0; i < n; i++) plain.push(await lab.container(host, 'busybox', { name: `sec-c${i + 1}` }));
      const refused = await plain[0]!.run(CRASH);
      lab.figure('container', 'container.defaultRefused', 'a default container is refused the crash', refused.exitCode !== 0 && !host.panic, 'bool', {
        how: `exit code ${refused.exitCode}`,
      });
      lab.show('container', `${CRASH} in a default container`, refused.output.trim());
      const hostAfterRefusal = await host.alive(20_000);
      lab.figure('host', 'host.aliveAfterRefusal', 'host answers after the refused attempt', hostAfterRefusal, 'bool');

      lab.progress('crashing the kernel from a --privileged container', 0.75);
      const priv = await lab.container(host, 'busybox', { name: 'sec-priv', flags: ['--privileged'] });
      const hostPanic = host.waitFor(MARKERS.panic, 120_000);
      priv.type(`${CRASH}\n`);
      await hostPanic;
      let survivors = 0;
      for (const c of plain) if (await c.alive(3000)) survivors++;
      const hostAlive = await host.alive(3000);
      lab.figure('container', 'container.survivors', 'other containers still answering', survivors, 'count', {
        how: 'echo in each default container after the panic',
      });
      lab.figure('container', 'container.others', 'other containers', n, 'count');
      lab.figure('host', 'host.dies', 'the host stops answering', !hostAlive, 'bool');
      if (host.panic) lab.show('host', 'host console', host.panic.line);
      lab.note(
        'The privileged container crashed the host kernel: there is only one kernel, so every container on it died too. --privileged removes the protections (read-only /proc/sysrq-trigger, device and capability limits) that refused the default container.',
      );
      return lab.result('security', {
        vm: `1 VM crashed, ${vmSurvivors} of ${others.length} other${others.length > 1 ? 's' : ''} still answer${others.length > 1 ? '' : 's'}`,
        container: `default refused (${refused.exitCode !== 0 ? 'yes' : 'no'}); privileged crash left ${survivors} of ${n} others alive${hostAlive ? '' : ', host dead'}`,
      });
    }),
};
