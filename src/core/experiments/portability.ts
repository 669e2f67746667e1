// Portability: take the same app elsewhere, for real. Container side: `box build` the example app in
// the container host, `box save` it to an OCI archive, serve that file on the page's LAN (busybox
// httpd on the host's LAN address), fetch it with wget into a VM that runs boxd ("Docker in a VM"),
// `box load` and `box run` it there. Then a second container host, booted cold: the archive leaves
// host 1 over its mux (box save), crosses the page and is streamed into host 2 (LOAD, box load),
// and runs there. VM side: the bytes of the VM disk that would have to move instead: the whole image
// file, and the blocks its filesystem uses.
import { ARTIFACTS } from '../artifacts.ts';
import { HOST_LAN_ADDRESS } from '../lan/frame.ts';
import { WAIT_BOXD_READY } from './box-start.ts';
import { formatBytes, ok, parseCounter, withLab } from './common.ts';
import { ipv4 } from './networking.ts';
import type { Experiment } from './types.ts';

/** The example build context baked into the host (images/host/rootfs/root/example-app). */
const APP_CONTEXT = '/root/example-app';
const APP_IMAGE = 'port-app';
/** What the example app's RUN step wrote: proof the built layer crossed over, not just the base. */
const APP_OUTPUT = 'built by box build';
/** Where the host's busybox httpd serves the archive (hybrid uses 8080 for `box run -p`). */
const SERVE_PORT = 8000;

export interface FileFacts {
  /** Size in bytes (`wc -c`). */
  bytes: number;
  /** Hex sha256 (`sha256sum`). */
  sha256: string;
}

/**
 * The output of `wc -c < FILE; sha256sum FILE` (busybox): a byte count line, then "HEX  FILE".
 * @throws Error naming what is missing when either line is absent.
 */
export function parseFileFacts(text: string): FileFacts {
  const bytes = /^\s*(\d+)\s*$/m.exec(text);
  const sum = /^([0-9a-f]{64})\s/m.exec(text);
  if (!bytes || !sum) throw new Error(`expected a byte count and a sha256 line, got:\n${text.slice(-300)}`);
  return { bytes: Number(bytes[1]), sha256: sum[1]! };
}

/**
 * `df -k MOUNT` (busybox, POSIX columns: Filesystem 1K-blocks Used Available Use% Mounted on), its
 * last line → total and used bytes of that filesystem (1 KiB blocks × 1024).
 * @throws Error when the last line has no numeric columns.
 */
export function parseDfKb(text: string): { totalBytes: number; usedBytes: number } {
  const last = text.trim().split('\n').at(-1) ?? '';
  const m = /^\S+\s+(\d+)\s+(\d+)\s+\d+\s+\d+%/.exec(last.trim());
  if (!m) throw new Error(`df printed no usage line:\n${text.slice(-300)}`);
  return { totalBytes: Number(m[1]) * 1024, usedBytes: Number(m[2]) * 1024 };
}

const RX_BYTES = 'cat /sys/class/net/eth0/statistics/rx_bytes';

export const portability: Experiment = {
  id: 'portability',
  title: 'Portability',
  explain:
    'An image is a few files of one app, so it travels light: we build the example app in the container host, save it as an OCI archive, move the file over the page’s LAN into a VM that runs boxd, load it and run it there. Then we boot a second container host from cold and hand it the same archive through the page. A VM travels as its whole disk: bootloader, kernel, root filesystem and the app. We count the bytes each would move and time the container’s trip from save to its output on the other machine.',
  costSeconds: 120,
  run: (driver, ctx) =>
    withLab(driver, ctx, async (lab) => {
      lab.progress('booting a VM (boxd on its disk) and the container host on the page’s LAN', 0.05);
      const [vm, host] = await Promise.all([
        lab.vm({ label: 'port-vm', network: { type: 'virtio' } }),
        lab.host({ label: 'port-host', network: { type: 'virtio' } }),
      ]);
      const hostAddress = await ipv4(host);
      if (hostAddress !== HOST_LAN_ADDRESS) throw new Error(`the container host has ${hostAddress} on the LAN, expected ${HOST_LAN_ADDRESS}`);

      // ---- VM side: what moving this machine means, measured on the disk it booted from.
      const disk = await vm.disk();
      const diskFile = await driver.artifactSize(ARTIFACTS.vmDisk);
      const dfText = ok(await vm.run('df -k /'), 'VM side: df -k / in the VM');
      const df = parseDfKb(dfText);
      lab.figure('vm', 'portability.vm.diskImage', 'VM disk image to move (the whole file)', diskFile, 'bytes', { how: `size of ${ARTIFACTS.vmDisk}` });
      lab.figure('vm', 'portability.vm.diskUsed', 'of it, used by the root filesystem', df.usedBytes, 'bytes', {
        how: 'df -k / inside the booted VM (used 1 KiB blocks), before the app is loaded',
      });
      lab.figure('vm', 'portability.vm.bootRead', 'of it, read to boot', disk.bytesFetched, 'bytes', {
        how: 'LazyDisk bytes fetched from power-on to the shell (64 KiB chunks)',
      });
      lab.show('vm', 'df -k / (inside the VM)', dfText.trim());

      // ---- container side: build, save, serve, fetch, load, run.
      lab.progress(`box build -t ${APP_IMAGE} ${APP_CONTEXT} in the container host`, 0.3);
      const b0 = await host.stats();
      const built = ok(await host.run(`box build -t ${APP_IMAGE} ${APP_CONTEXT}`, { timeoutMs: 300_000 }), `container side: box build in the host`);
      const b1 = await host.stats();
      lab.figure(
        'host',
        'portability.build.instructions',
        'box build of the example app (host guest instructions)',
        b1.instructions - b0.instructions,
        'instructions',
      );
      lab.figure('host', 'portability.build.cachedSteps', 'build steps taken from the cache', (built.match(/ ---> Using cache/g) ?? []).length, 'count', {
        how: 'lines " ---> Using cache" in the box build output (0 = a cold build in a host booted fresh)',
      });
      lab.show('host', `box build -t ${APP_IMAGE} ${APP_CONTEXT}`, built.trim());

      lab.progress('waiting for boxd in the VM', 0.5);
      ok(
        await vm.run(WAIT_BOXD_READY, {
          timeoutMs: 90_000,
        }),
        'container side: boxd in the VM',
      );
      const rx0 = parseCounter(ok(await vm.run(RX_BYTES), 'rx_bytes in the VM'), 'the VM’s eth0 rx_bytes');

      lab.progress('box save → LAN → box load → box run', 0.6);
      const [h0, v0] = await Promise.all([host.stats(), vm.stats()]);
      const t0 = driver.now();
      const saved = parseFileFacts(
        ok(
          await host.run(`mkdir -p /tmp/share && box save ${APP_IMAGE} -o /tmp/share/app.tar && wc -c < /tmp/share/app.tar && sha256sum /tmp/share/app.tar`, {
            timeoutMs: 120_000,
          }),
          'container side: box save in the host',
        ),
      );
      const tSaved = driver.now();
      const pid = parseCounter(
        ok(await host.run(`httpd -f -p ${SERVE_PORT} -h /tmp/share </dev/null >/dev/null 2>&1 & echo $!`), 'container side: httpd in the host'),
        'httpd pid',
      );
      const url = `http://${HOST_LAN_ADDRESS}:${SERVE_PORT}/app.tar`;
      const fetched = parseFileFacts(
        ok(
          await vm.run(`rm -f /tmp/app.tar; wget -q -O /tmp/app.tar ${url} && wc -c < /tmp/app.tar && sha256sum /tmp/app.tar`, { timeoutMs: 180_000 }),
          `container side: wget ${url} in the VM`,
        ),
      );
      const tFetched = driver.now();
      if (fetched.sha256 !== saved.sha256)
        throw new Error(
          `container side: the VM got ${fetched.bytes} bytes (sha256 ${fetched.sha256.slice(0, 12)}), the host saved ${saved.bytes} (${saved.sha256.slice(0, 12)})`,
        );
      const loaded = ok(await vm.run('box load -i /tmp/app.tar', { timeoutMs: 180_000 }), 'container side: box load -i in the VM');
      const tLoaded = driver.now();
      const output = ok(await vm.run(`box run --rm ${APP_IMAGE} cat /www/about.txt`, { timeoutMs: 120_000 }), `container side: box run ${APP_IMAGE} in the VM`);
      const tRan = driver.now();
      const [h1, v1] = await Promise.all([host.stats(), vm.stats()]);
      if (output.trim() !== APP_OUTPUT)
        throw new Error(`container side: the app in the VM printed ${JSON.stringify(output.trim())}, expected ${JSON.stringify(APP_OUTPUT)}`);
      const rx1 = parseCounter(ok(await vm.run(RX_BYTES), 'rx_bytes in the VM'), 'the VM’s eth0 rx_bytes');
      await host.run(`kill ${pid}; rm -rf /tmp/share`);

      lab.figure('container', 'portability.archive', 'OCI archive to move (box save)', saved.bytes, 'bytes', {
        how: 'wc -c of the file box save wrote; the VM got the same sha256',
      });
      lab.figure('container', 'portability.lanBytes', 'received by the VM’s NIC during the whole trip', rx1 - rx0, 'bytes', {
        how: 'eth0 rx_bytes in the VM before and after (Ethernet frames: the archive with TCP/IP headers, plus anything else on the LAN)',
      });
      lab.figure('container', 'portability.toRun.ms', 'box save → the app’s output in the VM', tRan - t0, 'ms', { how: 'driver clock', dependsOnLoad: true });
      lab.figure('container', 'portability.save.ms', 'box save in the host', tSaved - t0, 'ms', { how: 'driver clock', dependsOnLoad: true });
      lab.figure('container', 'portability.transfer.ms', 'wget over the LAN into the VM', tFetched - tSaved, 'ms', {
        how: 'driver clock, includes starting httpd',
        dependsOnLoad: true,
      });
      lab.figure('container', 'portability.load.ms', 'box load -i in the VM', tLoaded - tFetched, 'ms', { how: 'driver clock', dependsOnLoad: true });
      lab.figure('container', 'portability.run.ms', 'box run --rm in the VM (to its output)', tRan - tLoaded, 'ms', {
        how: 'driver clock',
        dependsOnLoad: true,
      });
      lab.figure('host', 'portability.host.instructions', 'host guest instructions, save → output', h1.instructions - h0.instructions, 'instructions', {
        how: 'v86 instruction counter of the container host',
      });
      lab.figure(
        'vm',
        'portability.vmSide.instructions',
        'VM guest instructions, save → output (fetch, load, run)',
        v1.instructions - v0.instructions,
        'instructions',
        {
          how: 'v86 instruction counter of the VM',
        },
      );
      lab.show('vm', `box load -i app.tar; box run --rm ${APP_IMAGE} cat /www/about.txt (in the VM)`, `${loaded.trim()}\n${output.trim()}`);

      // ---- a second container host booted fresh: the archive leaves host 1 over its mux (box save),
      // crosses the page, and enters host 2 over its mux (box load, streamed); then it runs there.
      // Host 2 has no NIC: the LAN routes the container network to host 1's fixed address.
      lab.progress('booting a second container host, cold', 0.75);
      const host2 = await lab.host({ label: 'port-host2' });
      const boot2 = host2.boot.ready;
      lab.figure('container', 'portability.host2.boot.ms', 'second container host: power-on → ready (cold boot)', boot2.wallMs, 'ms', {
        how: 'machine worker clock, power-on to the host-ready marker',
        dependsOnLoad: true,
      });
      lab.figure('host', 'portability.host2.boot.instructions', 'second container host: power-on → ready', boot2.instructions, 'instructions', {
        how: 'v86 instruction counter of the second host',
      });
      lab.progress('box save (host 1) → the page → box load → box run (host 2)', 0.85);
      const [h20, g20] = await Promise.all([host.stats(), host2.stats()]);
      const u0 = driver.now();
      const out = await host.saveImage(APP_IMAGE, { timeoutMs: 120_000 });
      const into = await host2.loadImage(out.bytes, `${APP_IMAGE}.oci.tar`, { timeoutMs: 60_000 });
      const uLoaded = driver.now();
      if (into.exitCode !== 0) throw new Error(`container side: box load in the second host: ${into.output.trim()}`);
      const output2 = ok(
        await host2.run(`box run --rm ${APP_IMAGE} cat /www/about.txt`, { timeoutMs: 120_000 }),
        `container side: box run ${APP_IMAGE} in the second host`,
      );
      const uRan = driver.now();
      const [h21, g21] = await Promise.all([host.stats(), host2.stats()]);
      if (output2.trim() !== APP_OUTPUT)
        throw new Error(`container side: the app in the second host printed ${JSON.stringify(output2.trim())}, expected ${JSON.stringify(APP_OUTPUT)}`);
      await lab.stop(host2);
      lab.figure('container', 'portability.host2.archive', 'OCI archive moved host → page → second host', out.bytes.length, 'bytes', {
        how: 'bytes of the box save answer over host 1’s mux; the same bytes streamed into host 2 (LOAD_DATA), box load checked every digest',
      });
      const timed: [id: string, label: string, ms: number, how: string][] = [
        ['toRun', 'box save → the app’s output in the second host', uRan - u0, 'driver clock'],
        ['save', 'box save in host 1 (to its first byte out)', out.saveMs, 'machine worker clock'],
        ['transferOut', 'archive out of host 1 over its mux', out.transferMs, 'machine worker clock, first to last byte of the answer'],
        [
          'transferIn',
          'archive into host 2 over its mux',
          into.transferMs,
          'machine worker clock, LOAD to the LOAD_ACK of the last byte (box load reads as the bytes come)',
        ],
        ['load', 'box load in host 2 after the last byte (checks, store)', into.loadMs, 'machine worker clock, last LOAD_ACK to the RESULT'],
        ['run', 'box run --rm in the second host (to its output)', uRan - uLoaded, 'driver clock'],
      ];
      for (const [id, label, ms, how] of timed) lab.figure('container', `portability.host2.${id}.ms`, label, ms, 'ms', { how, dependsOnLoad: true });
      lab.figure(
        'host',
        'portability.host2.instructions',
        'second host guest instructions, load → output',
        g21.instructions - g20.instructions,
        'instructions',
        {
          how: 'v86 instruction counter of the second host',
        },
      );
      lab.figure(
        'host',
        'portability.host1.saveInstructions',
        'host 1 guest instructions, box save over the mux',
        h21.instructions - h20.instructions,
        'instructions',
        {
          how: 'v86 instruction counter of host 1 over the same span',
        },
      );
      lab.show(
        'container',
        `box load (streamed from the page); box run --rm ${APP_IMAGE} cat /www/about.txt (second host)`,
        `${into.output.trim()}\n${output2.trim()}`,
      );

      // ---- the comparison.
      const imageRatio = diskFile / saved.bytes;
      const usedRatio = df.usedBytes / saved.bytes;
      lab.figure('vm', 'portability.ratio.image', 'VM disk image ÷ OCI archive', imageRatio, 'ratio');
      lab.figure('vm', 'portability.ratio.used', 'VM disk used ÷ OCI archive', usedRatio, 'ratio');
      lab.note(
        `The app moved as a ${formatBytes(saved.bytes)} OCI archive (its base layer included, as a fresh machine needs it); the VM's NIC received ${formatBytes(rx1 - rx0)} for it. As a VM it would move as its ${formatBytes(diskFile)} disk image (${imageRatio.toFixed(1)}×), of which the root filesystem uses ${formatBytes(df.usedBytes)} (${usedRatio.toFixed(1)}×), and that before the app is added.`,
      );
      lab.note(
        'The receiving machine must run the same kernel ABI and CPU architecture (i386 Linux here, a VM whose own kernel is 6.1): an image carries no kernel. A VM disk carries its kernel, so it boots on any PC emulator or hypervisor.',
      );
      lab.progress('done', 1);
      return lab.result('portability', {
        vm: `moves its ${formatBytes(diskFile)} disk (${formatBytes(df.usedBytes)} used): ${imageRatio.toFixed(1)}× the image archive`,
        container: `${formatBytes(saved.bytes)} archive: saved, sent over the LAN, loaded and run in a VM in ${((tRan - t0) / 1000).toFixed(1)} s; through the page into a second host booted fresh (${(boot2.wallMs / 1000).toFixed(1)} s boot) in ${((uRan - u0) / 1000).toFixed(1)} s`,
        host: `built and saved by boxd; served by busybox httpd on ${HOST_LAN_ADDRESS}:${SERVE_PORT}`,
      });
    }),
};
