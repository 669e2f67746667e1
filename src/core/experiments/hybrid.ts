// Hybrid: the container host is itself a VM. Nothing heavy to run: the figures come from the files.
import { ARTIFACTS } from '../artifacts.ts';
import { PROFILES } from '../machine/profiles.ts';
import { utf8Decoder } from '../mux/platform.ts';
import { withLab } from './common.ts';
import type { Experiment } from './types.ts';

export const hybrid: Experiment = {
  id: 'hybrid',
  title: 'Hybrid',
  explain:
    'Every container on this page runs inside a VM: the container host is an emulated PC booting its own Linux, exactly as Docker Desktop runs a small Linux VM on Windows and macOS, and as clouds run containers inside VMs. The VM gives the hard isolation boundary; the containers give density and fast starts inside it.',
  costSeconds: 1,
  run: (driver, ctx) =>
    withLab(driver, ctx, async (lab) => {
      const manifest = JSON.parse(utf8Decoder.decode(await driver.readArtifact(ARTIFACTS.manifest)));
      lab.figure('host', 'host.kernel', 'the container host’s own kernel', String(manifest.kernels?.host ?? '?'), 'text', { how: 'images/dist/manifest.json' });
      lab.figure('host', 'host.memory', 'the container host VM’s RAM (default)', PROFILES.host.memoryMb * 2 ** 20, 'bytes');
      lab.note('Text-only row: the other experiments already measure this host VM (its boot in Boot/start time, its overhead in Memory).');
      return lab.result('hybrid', {
        vm: 'the container host is one of these VMs',
        container: 'containers run inside that VM, on its kernel',
        host: `one v86 VM running Linux ${manifest.kernels?.host ?? '?'}`,
      });
    }),
};
