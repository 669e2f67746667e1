// Hybrid: the container host is itself a VM, and the two stacks work together on the page's LAN.
// Measured live: a container pings a VM through the host (which routes 10.88.0.0/16, no NAT), and
// a VM downloads a page from a port a container published with `box run -p` (boxd's port proxy).
// And Docker in a VM: the same busybox container started inside a VM (boxd on the VM's disk) and on
// the container host, start time and memory.current side by side.
import { ARTIFACTS } from '../artifacts.ts';
import { HOST_LAN_ADDRESS } from '../lan/frame.ts';
import { PROFILES } from '../machine/profiles.ts';
import { utf8Decoder } from '../mux/platform.ts';
import { BOXD_LOG, WAIT_BOXD_READY, measureBoxStart } from './box-start.ts';
import { formatBytes, ok, withLab } from './common.ts';
import { ipv4, mbPerSecond, parsePing, parseTransfer, transferCommand } from './networking.ts';
import type { Experiment } from './types.ts';

/** The published port the VM fetches from (any free host port would do; Docker's docs use 8080). */
const PUBLISHED = 8080;

export const hybrid: Experiment = {
  id: 'hybrid',
  title: 'Hybrid',
  explain:
    'Every container on this page runs inside a VM: the container host is an emulated PC booting its own Linux, exactly as Docker Desktop runs a small Linux VM on Windows and macOS, and as clouds run containers inside VMs. The two stacks also work together: the host sits on the page’s LAN as 10.86.0.2 and routes the VMs to its containers, so a container reaches a VM’s web server and a VM reaches a container’s published port. And a VM can run containers itself (boxd is on its disk): the same container is started in both.',
  costSeconds: 55,
  params: [{ name: 'pings', default: 5, unit: 'count', what: 'pings from the container to the VM (busybox ping -c)' }],
  run: (driver, ctx) =>
    withLab(driver, ctx, async (lab) => {
      const pings = Math.max(2, Math.round(lab.param('pings', 5)));
      const manifest = JSON.parse(utf8Decoder.decode(await driver.readArtifact(ARTIFACTS.manifest)));
      lab.figure('host', 'host.kernel', 'the container host’s own kernel', String(manifest.kernels?.host ?? '?'), 'text', { how: 'images/dist/manifest.json' });
      lab.figure('host', 'host.memory', 'the container host VM’s RAM (default)', PROFILES.host.memoryMb * 2 ** 20, 'bytes');

      lab.progress('booting a VM and the container host on the page’s LAN', 0.05);
      const [vm, host] = await Promise.all([
        lab.vm({ label: 'hybrid-vm', network: { type: 'virtio' } }),
        lab.host({ label: 'hybrid-host', network: { type: 'virtio' } }),
      ]);
      const vmAddress = await ipv4(vm);
      const hostAddress = await ipv4(host);
      if (hostAddress !== HOST_LAN_ADDRESS) throw new Error(`the container host has ${hostAddress} on the LAN, expected ${HOST_LAN_ADDRESS}`);

      lab.progress('container → VM: ping through the host', 0.5);
      await host.run('box rm -f hy-client hy-web >/dev/null 2>&1');
      ok(await host.run('box run -d --name hy-client busybox sleep 100000', { timeoutMs: 60_000 }), 'box run busybox');
      const pingRun = await host.run(`box exec hy-client ping -c ${pings} -W 5 ${vmAddress}`, { timeoutMs: 20_000 + pings * 6_000 });
      const ping = parsePing(pingRun.output);
      lab.figure('container', 'hybrid.rtt.median', 'container → VM ping round trip (median)', ping.medianMs, 'ms', {
        how: `busybox ping -c ${ping.sent} from a container (10.88.0.x) to ${vmAddress}, routed by the host's kernel from box0 to eth0`,
        dependsOnLoad: true,
      });
      lab.figure('container', 'hybrid.ping.lost', 'container → VM pings lost', ping.sent - ping.received, 'count');
      lab.show('container', `ping ${vmAddress} from a container`, pingRun.output.trim());

      lab.progress(`VM → container: HTTP from port ${PUBLISHED} published with box run -p`, 0.75);
      ok(await host.run(`box run -d --name hy-web -p ${PUBLISHED}:80 web`, { timeoutMs: 60_000 }), `box run -p ${PUBLISHED}:80 web`);
      const t0 = driver.now();
      const fetched = ok(await vm.run(transferCommand(`http://${HOST_LAN_ADDRESS}:${PUBLISHED}/`), { timeoutMs: 60_000 }), 'wget in the VM');
      const transfer = parseTransfer(fetched, driver.now() - t0);
      if (transfer.bytes <= 0) throw new Error('the VM fetched an empty page from the published port');
      lab.figure('vm', 'hybrid.http.guestMs', `VM fetches a container’s page from ${HOST_LAN_ADDRESS}:${PUBLISHED} (client clock)`, transfer.guestMs, 'ms', {
        how: `wget in the VM; the host's box-proxy accepts on :${PUBLISHED} and relays to the web container's :80 over box0`,
        dependsOnLoad: true,
      });
      lab.figure('vm', 'hybrid.http.bytes', 'page size', transfer.bytes, 'bytes');
      lab.show('host', 'box ps', ok(await host.run('box ps'), 'box ps'));
      await host.run('box rm -f hy-client hy-web >/dev/null 2>&1');

      lab.progress('Docker in a VM: one container started inside the VM and one on the container host', 0.85);
      // The VM's rcS starts boxd in the background after login: wait until it listens.
      ok(
        await vm.run(WAIT_BOXD_READY, {
          timeoutMs: 90_000,
        }),
        'boxd in the VM',
      );
      // The host has run busybox containers above (its files are in its page cache); the VM's first
      // container reads them from its disk first. That first start is its own figure; the two
      // compared are each machine's next start, with the image's files cached on both.
      const vmRun = (cmd: string) => vm.run(cmd, { timeoutMs: 60_000 });
      const vmFirst = await measureBoxStart(vmRun, 'hy-first');
      const inVm = await measureBoxStart(vmRun, 'hy-start');
      const onHost = await measureBoxStart((cmd) => host.run(cmd, { timeoutMs: 60_000 }), 'hy-start');
      lab.show('vm', `boxd's log in the VM (${BOXD_LOG})`, ok(await vm.run(`cat ${BOXD_LOG}`), 'boxd log'));
      const how = (where: string) => `box run -d busybox sleep on ${where}'s serial shell; boxd's log: request → exec, guest clock`;
      lab.figure('vm', 'hybrid.vmContainer.startMs', 'container start inside a VM (boxd on the VM’s disk)', inVm.start.ms, 'ms', {
        how: how('the VM'),
        dependsOnLoad: true,
      });
      lab.figure('vm', 'hybrid.vmContainer.firstStartMs', 'first container start in that VM (image read from its disk)', vmFirst.start.ms, 'ms', {
        how: how('the VM'),
        dependsOnLoad: true,
      });
      lab.figure('container', 'hybrid.hostContainer.startMs', 'container start on the container host', onHost.start.ms, 'ms', {
        how: how('the host'),
        dependsOnLoad: true,
      });
      lab.figure('vm', 'hybrid.vmContainer.memory', 'memory.current of that container in the VM', inVm.memoryBytes, 'bytes', {
        how: 'its cgroup, /sys/fs/cgroup/box/NAME/memory.current',
      });
      lab.figure('container', 'hybrid.hostContainer.memory', 'memory.current of that container on the host', onHost.memoryBytes, 'bytes', {
        how: 'its cgroup, /sys/fs/cgroup/box/NAME/memory.current',
      });

      lab.note(
        `A container's ping to the VM crosses its veth, the box0 bridge, the host kernel's routing, the host's and the VM's emulated NICs and the page's switch: ${ping.medianMs.toFixed(1)} ms here (median).`,
      );
      lab.note(
        `The VM reached the container the way Docker publishes ports without iptables: boxd's proxy listens on the host's port ${PUBLISHED} and relays each connection (${transfer.bytes} bytes at ${mbPerSecond(transfer.bytes, Math.max(transfer.guestMs, 10)).toFixed(2)} MB/s).`,
      );
      lab.note(
        `Docker in a VM: the VM's own Linux 6.1 runs boxd too; a busybox container started there in ${inVm.start.ms.toFixed(1)} ms (the VM's first one, its image read from disk: ${vmFirst.start.ms.toFixed(1)} ms) (${formatBytes(inVm.memoryBytes)} memory.current) against ${onHost.start.ms.toFixed(1)} ms (${formatBytes(onHost.memoryBytes)}) on the container host, both on a guest clock. The VM's memory.current counts user pages only (its 6.1 kernel uses SLOB, which memcg cannot charge kernel memory for); the host's also counts the container's kernel memory. Each runtime's containers share their own machine's kernel: those in the VM share none with the host's.`,
      );
      lab.progress('done', 1);
      return lab.result('hybrid', {
        vm: `fetches a container's page via ${HOST_LAN_ADDRESS}:${PUBLISHED} in ${transfer.guestMs} ms`,
        container: `pings a VM in ${ping.medianMs.toFixed(1)} ms (median), routed by the host`,
        host: `one v86 VM running Linux ${manifest.kernels?.host ?? '?'}, on the LAN as ${HOST_LAN_ADDRESS}`,
      });
    }),
};
