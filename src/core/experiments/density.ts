// Density: one guest-RAM budget. VMs at the smallest RAM they boot with, started until the budget is
// reserved, vs idle containers started in one host given the whole budget until its memory runs low
// (or a limit or the time cap stops us first: the result says which).
import { formatBytes, ok, parseMeminfo, settle, usedBytes, withLab, type Lab } from './common.ts';
import type { HostHandle, VmHandle } from './driver.ts';
import type { Experiment, SeriesPoint } from './types.ts';
import { errorText } from '../errors.ts';

const MiB = 2 ** 20;

async function hostUsed(host: HostHandle): Promise<{ used: number; available: number }> {
  const info = parseMeminfo(ok(await host.run('cat /proc/meminfo', { timeoutMs: 60_000 }), 'meminfo'));
  return { used: usedBytes(info), available: info.MemAvailable! * 1024 };
}

async function vmSide(lab: Lab, budgetMb: number) {
  const seconds = lab.param('vmSeconds', 30);
  const deadline = lab.driver.now() + seconds * 1000;
  const vmMb = lab.param('vmMemoryMb', 32);
  // v86 0.5 itself fails (wasm out of bounds) with 16 MiB, taking the whole emulating thread down.
  if (vmMb < 32) throw new Error(`vmMemoryMb ${vmMb}: v86 needs at least 32 MiB per VM`);
  const batch = Math.max(1, Math.round(lab.param('vmBatch', 4)));
  const fits = Math.floor(budgetMb / vmMb);
  const vms: VmHandle[] = [];
  const reserved: SeriesPoint[] = [{ x: 0, y: 0 }];
  const used: SeriesPoint[] = [{ x: 0, y: 0 }];
  let usedSum = 0;
  let bound = `the budget: ${fits} × ${vmMb} MiB reserved`;
  while (vms.length < fits) {
    // At least two VMs, however slow the machine: a count of one says nothing.
    if (vms.length >= 2 && lab.driver.now() > deadline) {
      bound = `the time cap (${seconds} s of booting) before the budget was reserved`;
      break;
    }
    const n = Math.min(batch, fits - vms.length);
    lab.progress(`VMs: booting ${vms.length + 1}–${vms.length + n} of ${fits} (${vmMb} MiB each)`, (0.45 * vms.length) / fits);
    const booted = await Promise.allSettled(
      Array.from({ length: n }, (_, i) => lab.vm({ memoryMb: vmMb, label: `dens-vm${vms.length + i + 1}`, timeoutMs: 120_000 })),
    );
    const failed = booted.find((b) => b.status === 'rejected');
    for (const b of booted) if (b.status === 'fulfilled') vms.push(b.value);
    for (const vm of booted.flatMap((b) => (b.status === 'fulfilled' ? [b.value] : []))) {
      usedSum += usedBytes(parseMeminfo(ok(await vm.run('cat /proc/meminfo', { timeoutMs: 60_000 }), 'meminfo')));
      reserved.push({ x: reserved.length, y: reserved.length * vmMb * MiB });
      used.push({ x: used.length, y: usedSum });
    }
    if (failed) {
      bound = `a VM that did not boot: ${String((failed as PromiseRejectedResult).reason).split('\n')[0]}`;
      break;
    }
  }
  // Every VM still answers: they are all really running.
  let answering = 0;
  for (const vm of vms) if (await vm.alive(20_000)) answering++;
  lab.figure('vm', 'vm.memoryEach', 'RAM per VM (smallest the emulator runs)', vmMb * MiB, 'bytes');
  lab.figure('vm', 'vm.count', `VMs running in ${budgetMb} MiB`, answering, 'count', { how: 'booted to a shell and answering an echo at the end' });
  lab.figure('vm', 'vm.usedTotal', 'RAM the VMs’ kernels report used (sum)', usedSum, 'bytes');
  lab.series.push(
    { id: 'vm.reserved', side: 'vm', label: 'VMs: RAM reserved', xLabel: 'VMs running', xUnit: 'count', yLabel: 'memory', yUnit: 'bytes', points: reserved },
    { id: 'vm.used', side: 'vm', label: 'VMs: RAM used inside', xLabel: 'VMs running', xUnit: 'count', yLabel: 'memory', yUnit: 'bytes', points: used },
  );
  lab.note(
    `VMs: count bounded by ${bound}. Each VM keeps its ${vmMb} MiB reserved although its kernel reports only ${formatBytes(usedSum / Math.max(1, vms.length))} used.`,
  );
  for (const vm of vms) await lab.stop(vm);
  return { count: answering, vmMb, fits, timeBound: bound.startsWith('the time cap') };
}

async function containerSide(lab: Lab, budgetMb: number) {
  const seconds = lab.param('containerSeconds', 30);
  const reserveBytes = lab.param('reserveMb', 8) * MiB;
  const sampleEvery = Math.max(1, Math.round(lab.param('sampleEvery', 5)));
  lab.progress(`container host: booting with the whole ${budgetMb} MiB`, 0.5);
  const host = await lab.host({ memoryMb: budgetMb, label: 'dens-host', timeoutMs: 120_000 });
  await settle(lab, [host], 2, 20_000);
  const first = await hostUsed(host);
  const deadline = lab.driver.now() + seconds * 1000;
  const curve: SeriesPoint[] = [{ x: 0, y: first.used }];
  let count = 0;
  let available = first.available;
  let bound: string;
  for (;;) {
    if (available < reserveBytes) {
      bound = `the budget: the host had ${formatBytes(available)} available (< ${formatBytes(reserveBytes)} kept for the host)`;
      break;
    }
    if (count >= 2 && lab.driver.now() > deadline) {
      bound = `the time cap (${seconds} s of starting), with ${formatBytes(available)} of the budget still available`;
      break;
    }
    if (count % 10 === 0)
      lab.progress(`containers: ${count} running, ${formatBytes(available)} available`, 0.5 + 0.45 * Math.min(1, 1 - available / first.available));
    try {
      await lab.container(host, 'busybox', { name: `d${count + 1}`, timeoutMs: 60_000 });
      count++;
    } catch (e) {
      bound = `boxd refusing a start: ${errorText(e).split('\n')[0]}`;
      break;
    }
    if (count % sampleEvery === 0) {
      const s = await hostUsed(host);
      available = s.available;
      curve.push({ x: count, y: s.used });
    }
  }
  const last = await hostUsed(host);
  if (curve[curve.length - 1]!.x !== count) curve.push({ x: count, y: last.used });
  const per = count ? (last.used - first.used) / count : NaN;
  // The containers are really there: boxd lists them and the last one answers.
  const listed = ok(await host.box(['ps']), 'box ps')
    .split('\n')
    .filter((l) => /\bd\d+\b/.test(l)).length;
  lab.figure('container', 'container.count', `containers running in one ${budgetMb} MiB host`, count, 'count', {
    how: 'idle busybox shells started one after another',
  });
  lab.figure('container', 'container.listed', 'containers listed by box ps at the end', listed, 'count');
  lab.figure('container', 'container.perContainer', 'host RAM used per container', per, 'bytes', { how: 'slope of the host’s MemTotal − MemAvailable' });
  lab.figure('host', 'host.used', 'host’s own use before containers', first.used, 'bytes');
  lab.figure('host', 'host.usedAtEnd', `host use with ${count} containers`, last.used, 'bytes');
  if (count && last.available >= reserveBytes) {
    const projected = count + Math.floor((last.available - reserveBytes) / per);
    lab.figure('container', 'container.projected', 'projected count at the measured slope (not started)', projected, 'count', {
      how: 'count + remaining available / RAM per container',
    });
  }
  lab.series.push({
    id: 'container.hostUsed',
    side: 'container',
    label: 'containers: host RAM used',
    xLabel: 'containers running',
    xUnit: 'count',
    yLabel: 'memory',
    yUnit: 'bytes',
    points: curve,
  });
  lab.note(`Containers: count bounded by ${bound}.`);
  const projected = lab.get('container.projected')?.value as number | undefined;
  return { count, per, projected, timeBound: bound.startsWith('the time cap') };
}

export const density: Experiment = {
  id: 'density',
  title: 'Density',
  explain:
    'Same RAM budget for both. VMs each reserve their whole RAM for a kernel of their own, so the budget divides into a few machines. Containers share one host kernel and use only what their processes touch, so one host given the same budget fits many more.',
  costSeconds: 70,
  params: [
    { name: 'budgetMb', default: 512, unit: 'MiB', what: 'guest RAM budget for each side (a power of two: it is also the host’s RAM)' },
    { name: 'vmMemoryMb', default: 32, unit: 'MiB', what: 'RAM per VM: the smallest size v86 runs (16 MiB stops the emulator itself)' },
    { name: 'vmSeconds', default: 30, unit: 'count', what: 'wall seconds for booting VMs (at least two are booted); then booting stops' },
    {
      name: 'containerSeconds',
      default: 30,
      unit: 'count',
      what: 'wall seconds for starting containers once the host is up (at least two); then starting stops',
    },
    { name: 'reserveMb', default: 8, unit: 'MiB', what: 'host memory kept free: starting stops below it' },
  ],
  run: (driver, ctx) =>
    withLab(driver, ctx, async (lab) => {
      const budgetMb = lab.param('budgetMb', 512);
      // Each side has its own time cap, so a slow VM side cannot starve the containers.
      const vm = await vmSide(lab, budgetMb);
      const c = await containerSide(lab, budgetMb);
      lab.figure('container', 'ratio', 'containers per VM in the same budget (as started)', c.count / Math.max(1, vm.count), 'ratio');
      if (vm.timeBound || c.timeBound) {
        lab.note(
          `The time cap stopped ${vm.timeBound && c.timeBound ? 'both sides' : vm.timeBound ? 'the VMs' : 'the containers'} before the budget did, so the ratio above understates the difference: the budget holds ${vm.fits} VMs of ${vm.vmMb} MiB` +
            (c.projected !== undefined ? ` and, at the measured ${formatBytes(c.per)} per container, about ${c.projected} containers.` : '.'),
        );
      }
      return lab.result('density', {
        vm: `${vm.count} VMs × ${vm.vmMb} MiB in ${budgetMb} MiB`,
        container: `${c.count} containers in one ${budgetMb} MiB host (${formatBytes(c.per)} each)`,
      });
    }),
};
