// The experiments of the compare page, run for real in Node (src/core/experiments + the Node driver),
// each checked for figures that are real and sane: sizes equal the files, the density count is more
// than one and fits the budget, a privileged crash really kills every container, the same job costs
// about the same everywhere.
//
// Every experiment boots its own machines: all of them, with small parameters, take about 90 s on a
// quiet 2-core machine, so all run by default (networking is checked by lan.test.ts).
// STACKLAB_EXPERIMENTS=<comma list of ids> runs only those.
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DIST } from './harness.ts';
import { NodeDriver } from '../../src/node/driver.ts';
import { EXPERIMENTS, type ExperimentResult, type Figure } from '../../src/core/experiments/index.ts';
import { readOciImages } from '../../src/core/experiments/size.ts';

const only = process.env.STACKLAB_EXPERIMENTS;
const wanted = !only || only === 'all' ? EXPERIMENTS.map((e) => e.id) : only.split(',');

/** Small parameters: the same code paths, less work. */
const PARAMS: Record<string, Record<string, number>> = {
  compute: { blocks: 32 },
  density: { budgetMb: 128, vmSeconds: 15, containerSeconds: 5 },
  security: { vms: 2, containers: 2 },
  memory: { containers: 2 },
  storage: { writeKb: 256 },
};

const driver = new NodeDriver();
afterAll(() => driver.stopAll());

const value = (r: ExperimentResult, id: string): Figure['value'] => {
  const f = r.figures.find((x) => x.id === id);
  if (!f) throw new Error(`${r.id}: no figure ${id}; has ${r.figures.map((x) => x.id).join(', ')}`);
  return f.value;
};
const num = (r: ExperimentResult, id: string) => {
  const v = value(r, id);
  expect(typeof v, `${r.id}.${id} is a number`).toBe('number');
  expect(Number.isFinite(v), `${r.id}.${id} is finite`).toBe(true);
  return v as number;
};

const CHECKS: Record<string, (r: ExperimentResult) => void | Promise<void>> = {
  hybrid: (r) => {
    const manifest = JSON.parse(readFileSync(join(DIST, 'manifest.json'), 'utf8'));
    expect(value(r, 'host.kernel')).toBe(manifest.kernels.host);
    // Measured, not quoted: a container's pings reached the VM through the host, and the VM got a
    // container's page through the published port.
    expect(num(r, 'hybrid.rtt.median')).toBeGreaterThan(0);
    expect(num(r, 'hybrid.ping.lost')).toBe(0);
    expect(num(r, 'hybrid.http.bytes')).toBeGreaterThan(100);
    expect(num(r, 'hybrid.http.guestMs')).toBeGreaterThanOrEqual(0);
    expect(num(r, 'hybrid.vmContainer.startMs')).toBeGreaterThan(0);
    expect(num(r, 'hybrid.vmContainer.firstStartMs')).toBeGreaterThan(0);
    expect(num(r, 'hybrid.hostContainer.startMs')).toBeGreaterThan(0);
    expect(num(r, 'hybrid.vmContainer.memory')).toBeGreaterThan(0);
    expect(num(r, 'hybrid.hostContainer.memory')).toBeGreaterThan(0);
    expect(r.evidence.some((e) => /0\.0\.0\.0:8080->80\/tcp/.test(e.text))).toBe(true);
  },
  portability: (r) => {
    // The archive moved whole (same bytes, checked by sha256 in the experiment) and ran in the VM.
    const archive = num(r, 'portability.archive');
    expect(archive).toBeGreaterThan(10_000);
    expect(num(r, 'portability.lanBytes')).toBeGreaterThanOrEqual(archive);
    expect(num(r, 'portability.toRun.ms')).toBeGreaterThan(0);
    expect(num(r, 'portability.vmSide.instructions')).toBeGreaterThan(0);
    expect(num(r, 'portability.host.instructions')).toBeGreaterThan(0);
    expect(num(r, 'portability.build.cachedSteps')).toBe(0); // the host booted fresh: a cold build
    const disk = statSync(join(DIST, 'vm/disk.img')).size;
    expect(num(r, 'portability.vm.diskImage')).toBe(disk);
    expect(num(r, 'portability.vm.diskUsed')).toBeGreaterThan(0);
    expect(num(r, 'portability.vm.diskUsed')).toBeLessThan(disk);
    expect(num(r, 'portability.ratio.image')).toBeCloseTo(disk / archive, 6);
    expect(r.evidence.some((e) => /Loaded image: port-app:latest\nbuilt by box build/.test(e.text))).toBe(true);
  },
  size: async (r) => {
    const size = (p: string) => statSync(join(DIST, p)).size;
    expect(num(r, 'vm.disk')).toBe(size('vm/disk.img'));
    expect(num(r, 'host.kernel')).toBe(size('host/bzImage'));
    expect(num(r, 'host.initramfs')).toBe(size('host/initramfs.cpio'));
    // Per image: manifest + config + layers, from the blob files.
    const images = await readOciImages(driver);
    const blob = (d: { digest: string }) => size(`oci/blobs/${d.digest.replace(':', '/')}`);
    for (const img of images) {
      expect(num(r, `container.image.${img.name}`), img.name).toBe(blob(img.manifest) + blob(img.config) + img.layers.reduce((a, l) => a + blob(l), 0));
    }
    const uniqueLayers = new Map(images.flatMap((i) => i.layers.map((l) => [l.digest, blob(l)] as const)));
    const meta = images.reduce((a, i) => a + blob(i.manifest) + blob(i.config), 0);
    expect(num(r, 'container.images.shared')).toBe([...uniqueLayers.values()].reduce((a, b) => a + b, 0) + meta);
    expect(num(r, 'container.images.shared')).toBeLessThan(num(r, 'container.images.naive'));
    // A boot reads part of the disk, more than nothing.
    const fetched = num(r, 'vm.fetchedToBoot') - size('bios/seabios.bin') - size('bios/vgabios.bin');
    expect(fetched).toBeGreaterThan(0);
    expect(fetched).toBeLessThan(size('vm/disk.img'));
    expect(num(r, 'host.layerStore')).toBeGreaterThan(0);
  },
  boot: (r) => {
    expect(num(r, 'vm.cold.ms')).toBeGreaterThan(0);
    expect(num(r, 'vm.cold.instructions')).toBeGreaterThan(num(r, 'container.warm.instructions'));
    expect(num(r, 'vm.warm.ms')).toBeLessThan(num(r, 'vm.cold.ms'));
    expect(num(r, 'container.warm.ms')).toBeGreaterThan(0);
    expect(num(r, 'host.cold.instructions')).toBeGreaterThan(0);
  },
  compute: (r) => {
    const instr = ['vm', 'container', 'host'].map((s) => num(r, `${s}.instructions`));
    for (const n of instr) expect(n).toBeGreaterThan(1e6);
    // The same job on the same emulated CPU: guest instructions agree within a factor of 3 (times
    // depend on the machine's load and are only reported).
    expect(Math.max(...instr) / Math.min(...instr)).toBeLessThan(3);
    for (const s of ['vm', 'container', 'host']) expect(num(r, `${s}.ms`)).toBeGreaterThan(0);
  },
  isolation: (r) => {
    expect(value(r, 'container.pid1')).toBe('sh');
    expect(value(r, 'vm.pid1')).toBe('init');
    expect(value(r, 'container.sameKernelAsHost')).toBe(true);
    expect(value(r, 'vm.sameKernelAsHost')).toBe(false);
    expect(value(r, 'container.seesNeighbour')).toBe(false);
    expect(value(r, 'vm.seesNeighbour')).toBe(false);
    expect(value(r, 'host.seesContainer')).toBe(true);
    expect(num(r, 'container.processes')).toBeLessThan(num(r, 'host.processes'));
  },
  os: (r) => {
    const manifest = JSON.parse(readFileSync(join(DIST, 'manifest.json'), 'utf8'));
    expect(value(r, 'vm.kernel')).toBe(manifest.kernels.vm);
    expect(value(r, 'host.kernel')).toBe(manifest.kernels.host);
    expect(value(r, 'container.kernelIsHost')).toBe(true);
    expect(value(r, 'container.amd64Refused')).toBe(true);
  },
  security: (r) => {
    expect(value(r, 'vm.crashedDies')).toBe(true);
    expect(num(r, 'vm.survivors')).toBe(num(r, 'vm.others'));
    expect(value(r, 'container.defaultRefused')).toBe(true);
    expect(value(r, 'host.aliveAfterRefusal')).toBe(true);
    expect(num(r, 'container.others')).toBeGreaterThan(0);
    expect(num(r, 'container.survivors')).toBe(0);
    expect(value(r, 'host.dies')).toBe(true);
  },
  memory: (r) => {
    expect(num(r, 'vm.used')).toBeGreaterThan(0);
    expect(num(r, 'vm.used')).toBeLessThan(num(r, 'vm.memTotal'));
    expect(num(r, 'vm.memTotal')).toBeLessThanOrEqual(num(r, 'vm.given'));
    expect(num(r, 'container.memoryCurrent')).toBeGreaterThan(0);
    expect(num(r, 'container.memoryCurrent')).toBeLessThan(num(r, 'vm.used'));
    expect(num(r, 'host.used')).toBeLessThan(num(r, 'host.given'));
  },
  density: (r) => {
    const budget = PARAMS.density!.budgetMb! * 2 ** 20;
    const vms = num(r, 'vm.count');
    expect(vms).toBeGreaterThan(1);
    expect(vms * num(r, 'vm.memoryEach')).toBeLessThanOrEqual(budget);
    const containers = num(r, 'container.count');
    expect(containers).toBeGreaterThan(1);
    expect(num(r, 'container.listed')).toBe(containers);
    expect(num(r, 'host.usedAtEnd')).toBeLessThanOrEqual(budget);
    const curve = r.series.find((s) => s.id === 'container.hostUsed')!;
    expect(curve.points.at(-1)!.x).toBe(containers);
  },
  storage: (r) => {
    expect(value(r, 'vm.foundOnDisk')).toBe(true);
    expect(num(r, 'vm.diskWritten')).toBeGreaterThan(0);
    expect(value(r, 'container.inDiff')).toBe(true);
    expect(value(r, 'container.inUpperDir')).toBe(true);
    expect(value(r, 'container.sameLowerDirs')).toBe(true);
    expect(value(r, 'container.ownUpperDirs')).toBe(true);
    expect(value(r, 'container.sharedInode')).toBe(true);
  },
};

describe('experiments, for real in Node', () => {
  it('every experiment has a sanity check here', () => {
    expect(EXPERIMENTS.map((e) => e.id).filter((id) => !CHECKS[id] && id !== 'networking')).toEqual([]);
  });

  for (const e of EXPERIMENTS) {
    it.skipIf(!wanted.includes(e.id) || !CHECKS[e.id])(
      `${e.id}: ${e.title}`,
      async () => {
        const r = await e.run(driver, { params: PARAMS[e.id] });
        expect(r.id).toBe(e.id);
        expect(r.vm.length + r.container.length).toBeGreaterThan(0);
        for (const f of r.figures) if (typeof f.value === 'number') expect(Number.isNaN(f.value), `${f.id} is not NaN`).toBe(false);
        await CHECKS[e.id]!(r);
        // The experiment stopped everything it booted.
        expect(driver.live.size).toBe(0);
      },
      600_000,
    );
  }
});
