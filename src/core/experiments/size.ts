// Size: what each side is made of, in bytes, and what it actually fetched to start.
import { ARTIFACTS } from '../artifacts.ts';
import { formatBytes, ok, withLab, type Lab } from './common.ts';
import type { Driver } from './driver.ts';
import type { Experiment } from './types.ts';
import { utf8Decoder as utf8 } from '../mux/platform.ts';

interface Descriptor {
  digest: string;
  size: number;
}

interface OciImage {
  name: string;
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
}

const blobPath = (d: Descriptor) => `oci/blobs/${d.digest.replace(':', '/')}`;

/** The images in images/dist/oci, read from the OCI layout itself (index → manifests). */
export async function readOciImages(driver: Driver): Promise<OciImage[]> {
  const index = JSON.parse(utf8.decode(await driver.readArtifact('oci/index.json')));
  const images: OciImage[] = [];
  for (const m of index.manifests as (Descriptor & { annotations?: Record<string, string> })[]) {
    const manifest = JSON.parse(utf8.decode(await driver.readArtifact(blobPath(m))));
    images.push({
      name: m.annotations?.['org.opencontainers.image.ref.name'] ?? m.digest.slice(7, 19),
      manifest: m,
      config: manifest.config,
      layers: manifest.layers,
    });
  }
  return images;
}

async function measure(lab: Lab) {
  const d = lab.driver;
  const images = await readOciImages(d);
  // Sizes from the files themselves (not from the descriptors), so a wrong descriptor shows.
  const fileSize = new Map<string, number>();
  const sizeOf = async (desc: Descriptor) => {
    if (!fileSize.has(desc.digest)) fileSize.set(desc.digest, await d.artifactSize(blobPath(desc)));
    return fileSize.get(desc.digest)!;
  };

  // ---- VM: the disk image holds bootloader, kernel and root filesystem; firmware comes apart.
  const disk = await d.artifactSize(ARTIFACTS.vmDisk);
  const firmware = (await d.artifactSize(ARTIFACTS.seabios)) + (await d.artifactSize(ARTIFACTS.vgabios));
  lab.figure('vm', 'vm.disk', 'disk image (bootloader, kernel, root fs)', disk, 'bytes', { how: `size of ${ARTIFACTS.vmDisk}` });
  lab.figure('vm', 'vm.firmware', 'firmware (SeaBIOS + VGA BIOS)', firmware, 'bytes', { how: 'sizes of the BIOS files' });

  // ---- containers: per image, and all images with shared layers counted once.
  let naive = 0;
  const unique = new Map<string, number>();
  const usedBy = new Map<string, string[]>();
  for (const img of images) {
    let total = (await sizeOf(img.manifest)) + (await sizeOf(img.config));
    for (const l of img.layers) {
      const s = await sizeOf(l);
      total += s;
      unique.set(l.digest, s);
      usedBy.set(l.digest, [...(usedBy.get(l.digest) ?? []), img.name]);
    }
    naive += total;
    lab.figure(
      'container',
      `container.image.${img.name}`,
      `image "${img.name}" (${img.layers.length} layer${img.layers.length > 1 ? 's' : ''})`,
      total,
      'bytes',
      {
        how: 'manifest + config + gzip layers, file sizes',
      },
    );
  }
  const metadata = (await Promise.all(images.map(async (i) => (await sizeOf(i.manifest)) + (await sizeOf(i.config))))).reduce((a, b) => a + b, 0);
  const shared = [...unique.values()].reduce((a, b) => a + b, 0) + metadata;
  const base = [...usedBy.entries()].filter(([, names]) => names.length > 1);
  lab.figure('container', 'container.images.shared', `all ${images.length} images, shared layers once`, shared, 'bytes', {
    how: 'unique blobs of the OCI layout',
  });
  lab.figure('container', 'container.images.naive', `all ${images.length} images, each counted whole`, naive, 'bytes', { how: 'sum of the per-image totals' });
  for (const [digest, names] of base) {
    lab.figure('container', 'container.baseLayer', 'shared base layer', unique.get(digest)!, 'bytes', { how: `one blob used by ${names.join(', ')}` });
    lab.show('container', 'shared base layer', `${digest.slice(0, 19)}… used by ${names.join(', ')}`);
  }
  const hostKernel = await d.artifactSize(ARTIFACTS.hostKernel);
  const hostInitrd = await d.artifactSize(ARTIFACTS.hostInitrd);
  lab.figure('host', 'host.kernel', 'host kernel (bzImage)', hostKernel, 'bytes');
  const hostStore = await d.artifactSize(ARTIFACTS.hostStore);
  const hostFirmware = await d.artifactSize(ARTIFACTS.seabios);
  lab.figure('host', 'host.initramfs', 'host initramfs (busybox, init, boxd)', hostInitrd, 'bytes');
  lab.figure('host', 'host.store', 'host image store disk (OCI layout + pulled layers, read lazily)', hostStore, 'bytes', {
    how: `size of ${ARTIFACTS.hostStore}`,
  });

  // ---- bytes fetched to start: boot both for real.
  lab.progress('booting a VM to count the disk bytes it reads', 0.2);
  const vm = await lab.vm({ label: 'size-vm' });
  const atLogin = await vm.disk();
  lab.figure('vm', 'vm.fetchedToBoot', 'fetched to boot (disk chunks + firmware)', atLogin.bytesFetched + firmware, 'bytes', {
    how: 'LazyDisk bytes fetched from power-on to the shell, plus the firmware files',
  });
  lab.figure('vm', 'vm.fetchedShare', 'share of the disk fetched to boot', (100 * atLogin.bytesFetched) / atLogin.size, 'percent');
  const vmRoot = ok(await vm.run('df -k / | tail -n 1'), 'df in the VM');
  lab.show('vm', 'df -k / (inside the VM)', vmRoot);
  await lab.stop(vm);

  lab.progress('booting the container host to see its layer store', 0.6);
  const host = await lab.host({ label: 'size-host' });
  lab.figure(
    'container',
    'container.fetchedToStart',
    'fetched to start the host (kernel + initramfs + SeaBIOS)',
    hostKernel + hostInitrd + hostFirmware,
    'bytes',
    {
      how: 'the host loads these files whole before power-on (it is headless: no VGA BIOS); its image store is read lazily, chunk by chunk, as containers open files',
    },
  );
  const layerKb = Number(ok(await host.run('du -sk /var/lib/box/layers | cut -f1'), 'du of the layer store').trim());
  lab.figure('host', 'host.layerStore', 'unpacked layers in the host', layerKb * 1024, 'bytes', { how: 'du -sk /var/lib/box/layers inside the host' });
  const c = await lab.container(host, 'busybox', { name: 'size-c1' });
  const info = JSON.parse((await host.box(['inspect', c.name])).output);
  const upper: string = info[0].GraphDriver.Data.UpperDir;
  const upperKb = Number(ok(await host.run(`du -sk ${upper} | cut -f1`), 'du of the upper dir').trim());
  lab.figure('container', 'container.writableLayer', 'a new container’s own layer', upperKb * 1024, 'bytes', {
    how: `du -sk of its overlay upper dir (${upper})`,
  });
  lab.show('host', 'layer store (du -sk, inside the host)', ok(await host.run('du -sk /var/lib/box/layers/*'), 'du'));

  const busybox = images.find((i) => i.name === 'busybox');
  const busyboxSize = busybox ? Number(lab.get(`container.image.busybox`)!.value) : NaN;
  lab.note(
    'The VM disk holds a whole system: bootloader, kernel and root filesystem. An image holds only the files of its program; the kernel comes from the host.',
  );
  lab.note(
    `Only ${((100 * atLogin.bytesFetched) / atLogin.size).toFixed(0)} % of the VM disk is read to boot: the disk is fetched in ${formatBytes(64 * 1024)} chunks as the guest reads it.`,
  );
  if (base.length) lab.note(`The ${images.length} images share their base layer: stored and unpacked once, so adding an image costs only its own layers.`);
  return {
    vm: `${formatBytes(disk)} disk; ${formatBytes(atLogin.bytesFetched + firmware)} fetched to boot`,
    container: `${busybox ? `busybox image ${formatBytes(busyboxSize)}; ` : ''}${images.length} images ${formatBytes(shared)} with shared layers once (${formatBytes(naive)} if not)`,
    host: `host kernel + initramfs ${formatBytes(hostKernel + hostInitrd)}, fetched once for all containers`,
  };
}

export const size: Experiment = {
  id: 'size',
  title: 'Size',
  explain:
    'A VM carries a whole computer’s disk: bootloader, its own kernel and a root filesystem. A container image carries only its program’s files in layers, and images built on the same base share that layer. We count the bytes of each, and the bytes each side actually fetched to start.',
  costSeconds: 15,
  run: (driver, ctx) =>
    withLab(driver, ctx, async (lab) => {
      const summary = await measure(lab);
      return lab.result('size', summary);
    }),
};
