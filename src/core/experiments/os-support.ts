// OS support: the VM boots a kernel of its own choosing; containers run whatever kernel the host runs,
// and a binary that kernel cannot execute (x86-64 on this 32-bit host) fails to start.
import { ok, withLab } from './common.ts';
import type { Experiment } from './types.ts';
import { errorText } from '../errors.ts';

export const osSupport: Experiment = {
  id: 'os',
  title: 'OS support',
  explain:
    'A VM brings its own kernel, so it can run a different version (or a different OS) than its host. A container runs on the host’s kernel: every container reports the same version, and a program built for another architecture or kernel cannot start in it.',
  costSeconds: 15,
  run: (driver, ctx) =>
    withLab(driver, ctx, async (lab) => {
      lab.progress('booting a VM and the container host', 0.1);
      const [vm, host] = await Promise.all([lab.vm({ label: 'os-vm', memoryMb: 32 }), lab.host({ label: 'os-host' })]);
      const probe = 'uname -r; uname -m';
      const [vmKernel = '', vmArch = ''] = ok(await vm.run(probe), 'uname in the VM').split('\n');
      const [hostKernel = '', hostArch = ''] = ok(await host.run(probe), 'uname in the host').split('\n');
      lab.show('vm', 'cat /proc/version (VM)', ok(await vm.run('cat /proc/version'), 'version'));
      lab.show('host', 'cat /proc/version (host)', ok(await host.run('cat /proc/version'), 'version'));
      lab.figure('vm', 'vm.kernel', 'kernel it runs', vmKernel, 'text');
      lab.figure('vm', 'vm.arch', 'machine', vmArch, 'text');
      lab.figure('host', 'host.kernel', 'host kernel', hostKernel, 'text');

      lab.progress('containers from two images', 0.5);
      const kernels = new Set<string>();
      for (const image of ['busybox', 'lua']) {
        const c = await lab.container(host, image, { name: `os-${image}`, command: ['sh'] }).catch(() => undefined);
        if (!c) continue;
        const k = ok(await c.run('uname -r'), `uname in ${image}`).trim();
        kernels.add(k);
        lab.figure('container', `container.kernel.${image}`, `kernel seen in a "${image}" container`, k, 'text');
        await c.remove();
      }
      lab.figure('container', 'container.kernelIsHost', 'every container runs the host kernel', kernels.size === 1 && kernels.has(hostKernel), 'bool');
      lab.figure('vm', 'vm.kernelDiffersFromHost', 'the VM’s kernel differs from the host’s', vmKernel !== hostKernel, 'bool');

      lab.progress('an x86-64 binary in a container', 0.8);
      let foreign: string;
      try {
        const c = await lab.container(host, 'amd64-hello', { name: 'os-amd64', command: [] });
        const exit = await c.waitExit(20_000).catch(() => undefined);
        foreign = `started (exit ${exit?.code ?? '?'}): ${(await c.output()).trim()}`;
      } catch (e) {
        foreign = errorText(e).split('\n')[0]!;
      }
      const refused = /exec format error/i.test(foreign);
      lab.figure('container', 'container.amd64', 'x86-64 program in a container', refused ? 'Exec format error' : foreign, 'text');
      lab.figure('container', 'container.amd64Refused', 'x86-64 program refused by the host kernel', refused, 'bool');
      lab.show('container', 'box run amd64-hello', foreign);
      lab.note(
        `The VM runs Linux ${vmKernel} while its neighbour host runs ${hostKernel}: each VM picks its own kernel. Containers cannot: they get ${hostKernel}.`,
      );
      lab.note(
        `The emulated CPU is ${hostArch}, 32-bit x86: the host kernel cannot execute an x86-64 program, so neither can any container on it. A VM could only run it on a 64-bit emulated CPU, which this emulator does not provide.`,
      );
      return lab.result('os', {
        vm: `its own kernel: Linux ${vmKernel}`,
        container: `the host’s kernel ${hostKernel}; x86-64 binary: ${refused ? 'Exec format error' : foreign}`,
      });
    }),
};
