// Networking: ping round-trip and HTTP throughput between two VMs over their emulated NICs on the
// page's LAN (src/core/lan), against two containers over the box0 bridge inside one host kernel.
import { median, ok, withLab } from './common.ts';
import type { RunOptions, RunResult } from './driver.ts';
import type { Experiment, Side } from './types.ts';
import type { Lab } from './common.ts';
import { errorText } from '../errors.ts';

/** Anything that runs a shell command and reports its output and exit code (a driver handle, a test adapter). */
export interface Shell {
  run(cmd: string, opts?: RunOptions): Promise<RunResult>;
}

export interface PingFigures {
  sent: number;
  received: number;
  /** Each reply's round trip, in order. */
  timesMs: number[];
  minMs: number;
  avgMs: number;
  maxMs: number;
  medianMs: number;
}

/** busybox ping's output: one "time=… ms" per reply and the "min/avg/max" summary. */
export function parsePing(text: string): PingFigures {
  const counts = /(\d+) packets transmitted, (\d+) packets received/.exec(text);
  if (!counts) throw new Error(`ping printed no statistics:\n${text.slice(-400)}`);
  const timesMs = [...text.matchAll(/ time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  const summary = /min\/avg\/max = ([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(text);
  const received = Number(counts[2]);
  if (!summary || received === 0) throw new Error(`no ping reply came back:\n${text.slice(-400)}`);
  return {
    sent: Number(counts[1]),
    received,
    timesMs,
    minMs: Number(summary[1]),
    avgMs: Number(summary[2]),
    maxMs: Number(summary[3]),
    medianMs: median(timesMs),
  };
}

export interface TransferFigures {
  /** Bytes the client received (counted by `wc -c` in the client). */
  bytes: number;
  /** Client's own clock (/proc/uptime, 10 ms resolution) around the wget. */
  guestMs: number;
  /** The driver's clock around the whole command (includes typing it and reading the answer). */
  wallMs: number;
}

/** MB/s (10^6 bytes per second), the unit network tools print. */
export const mbPerSecond = (bytes: number, ms: number) => (ms > 0 ? bytes / 1e3 / ms : NaN);

/** The shell line that times a download with the guest's clock and counts the bytes. */
export function transferCommand(url: string): string {
  return `cat /proc/uptime; wget -q -O - ${url} | wc -c; cat /proc/uptime`;
}

export function parseTransfer(text: string, wallMs: number): TransferFigures {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const up = lines.filter((l) => /^\d+\.\d+ \d+\.\d+$/.test(l)).map((l) => Number(l.split(' ')[0]));
  const count = lines.find((l) => /^\d+$/.test(l));
  if (up.length !== 2 || count === undefined) throw new Error(`could not read the transfer's timing:\n${text.slice(-400)}`);
  return { bytes: Number(count), guestMs: Math.round((up[1]! - up[0]!) * 1000), wallMs };
}

/** The IPv4 address of `ifname` as the guest reports it. */
export async function ipv4(shell: Shell, ifname = 'eth0'): Promise<string> {
  const out = ok(await shell.run(`ip -4 addr show ${ifname}`), `ip addr show ${ifname}`);
  const m = /inet (\d+\.\d+\.\d+\.\d+)/.exec(out);
  if (!m) throw new Error(`${ifname} has no IPv4 address:\n${out}`);
  return m[1]!;
}

export interface PairParams {
  pings: number;
  blobBytes: number;
  /** Monotonic ms (the driver's clock). */
  now(): number;
}

export interface PairFigures {
  from: string;
  to: string;
  ping: PingFigures;
  transfer: TransferFigures;
  pingText: string;
}

async function pingAndFetch(client: Shell, prefix: string, to: string, from: string, p: PairParams): Promise<PairFigures> {
  const wrap = (cmd: string) => (prefix ? `${prefix} sh -c '${cmd}'` : cmd);
  const pingRun = await client.run(wrap(`ping -c ${p.pings} -W 5 ${to}`), { timeoutMs: 20_000 + p.pings * 6_000 });
  let ping: PingFigures;
  try {
    ping = parsePing(pingRun.output);
  } catch (e) {
    throw new Error(`${from} could not ping ${to} (are both machines on the same LAN?): ${errorText(e)}`, { cause: e });
  }
  const t0 = p.now();
  const out = ok(await client.run(wrap(transferCommand(`http://${to}/blob`)), { timeoutMs: 180_000 }), 'wget');
  const transfer = parseTransfer(out, p.now() - t0);
  if (transfer.bytes !== p.blobBytes) throw new Error(`the download brought ${transfer.bytes} bytes, expected ${p.blobBytes}`);
  return { from, to, ping, transfer, pingText: pingRun.output.trim() };
}

/**
 * VM a pings VM b and downloads a file b's httpd serves from /var/www. Both must sit on one LAN.
 */
export async function measureVmPair(a: Shell, b: Shell, p: PairParams): Promise<PairFigures> {
  const [from, to] = [await ipv4(a), await ipv4(b)];
  if (from === to) throw new Error(`both VMs have the address ${from}: their NICs got MAC addresses with the same last octet`);
  ok(await b.run(`dd if=/dev/zero of=/var/www/blob bs=1024 count=${p.blobBytes / 1024} 2>/dev/null`), 'dd in the server VM');
  try {
    return await pingAndFetch(a, '', to, from, p);
  } finally {
    await b.run('rm -f /var/www/blob').catch(() => {});
  }
}

/**
 * On one container host: a `web` container (busybox httpd on /www) and a busybox client; the client
 * pings the server and downloads a file from it, both over veth pairs on the box0 bridge.
 */
export async function measureContainerPair(host: Shell, p: PairParams, names = { client: 'net-client', server: 'net-web' }): Promise<PairFigures> {
  const { client, server } = names;
  await host.run(`box rm -f ${client} ${server} >/dev/null 2>&1`);
  ok(await host.run(`box run -d --name ${server} --hostname ${server} web`, { timeoutMs: 60_000 }), 'box run web');
  ok(await host.run(`box run -d --name ${client} --hostname ${client} busybox sleep 100000`, { timeoutMs: 60_000 }), 'box run busybox');
  try {
    const address = async (name: string) => {
      const text = ok(await host.run(`box inspect ${name}`), `box inspect ${name}`);
      let info: { NetworkSettings?: { IPAddress?: unknown } }[];
      try {
        info = JSON.parse(text);
      } catch {
        throw new Error(`box inspect ${name} printed no JSON:\n${text.slice(0, 300)}`);
      }
      const ip = info?.[0]?.NetworkSettings?.IPAddress;
      if (typeof ip !== 'string' || !ip) throw new Error(`box inspect ${name} shows no address`);
      return ip;
    };
    const [from, to] = [await address(client), await address(server)];
    ok(await host.run(`box exec ${server} dd if=/dev/zero of=/www/blob bs=1024 count=${p.blobBytes / 1024} 2>/dev/null`), 'dd in the web container');
    return await pingAndFetch(host, `box exec ${client}`, to, from, p);
  } finally {
    await host.run(`box rm -f ${client} ${server} >/dev/null 2>&1`).catch(() => {});
  }
}

function record(lab: Lab, side: Side, f: PairFigures, via: string) {
  const { ping, transfer } = f;
  lab.figure(side, `${side}.rtt.median`, 'ping round trip (median)', ping.medianMs, 'ms', {
    how: `busybox ping -c ${ping.sent} ${f.from} → ${f.to} ${via}`,
    dependsOnLoad: true,
  });
  lab.figure(side, `${side}.rtt.min`, 'ping round trip (min)', ping.minMs, 'ms', { dependsOnLoad: true });
  lab.figure(side, `${side}.rtt.avg`, 'ping round trip (avg)', ping.avgMs, 'ms', { dependsOnLoad: true });
  lab.figure(side, `${side}.rtt.max`, 'ping round trip (max; the first includes ARP)', ping.maxMs, 'ms', { dependsOnLoad: true });
  lab.figure(side, `${side}.ping.lost`, 'pings lost', ping.sent - ping.received, 'count');
  lab.figure(side, `${side}.http.bytes`, 'HTTP download size', transfer.bytes, 'bytes', { how: 'wget -O - | wc -c in the client' });
  lab.figure(side, `${side}.http.guestMs`, 'HTTP download time (client clock)', transfer.guestMs, 'ms', {
    how: '/proc/uptime in the client around wget',
    dependsOnLoad: true,
  });
  lab.figure(side, `${side}.http.wallMs`, 'HTTP download time (wall, incl. console)', transfer.wallMs, 'ms', { dependsOnLoad: true });
  lab.figure(side, `${side}.http.rate`, 'HTTP throughput', `${mbPerSecond(transfer.bytes, transfer.guestMs).toFixed(2)} MB/s`, 'text', {
    how: 'bytes / client-clock time',
    dependsOnLoad: true,
  });
  lab.show(side, `ping ${f.from} → ${f.to}`, f.pingText);
}

const summary = (f: PairFigures) =>
  `ping ${f.ping.medianMs.toFixed(2)} ms (median of ${f.ping.received}), HTTP ${mbPerSecond(f.transfer.bytes, f.transfer.guestMs).toFixed(2)} MB/s`;

export const networking: Experiment = {
  id: 'networking',
  title: 'Networking',
  explain:
    'Two VMs talk through emulated network cards: every frame is copied out of one emulator, through a switch in the page, and into the other, whose driver takes an interrupt per batch. Two containers talk through a veth pair and the box0 bridge inside one kernel: a packet never leaves that kernel’s memory. Both are emulated here, so the container side is also slower than on real hardware, but it skips the NICs and the second machine.',
  costSeconds: 60,
  params: [
    { name: 'pings', default: 5, unit: 'count', what: 'pings each way (busybox ping -c)' },
    { name: 'blobKb', default: 1024, unit: 'bytes', what: 'size of the downloaded file in KiB' },
    { name: 'virtio', default: 1, unit: 'bool', what: '1: virtio-net NICs, 0: NE2000 (slower: port I/O per byte)' },
  ],
  run: (driver, ctx) =>
    withLab(driver, ctx, async (lab) => {
      const pings = Math.max(2, Math.round(lab.param('pings', 5)));
      const blobBytes = Math.max(4, Math.round(lab.param('blobKb', 1024))) * 1024;
      const nic = lab.param('virtio', 1) ? 'virtio' : 'ne2k';
      const p: PairParams = { pings, blobBytes, now: () => driver.now() };

      lab.progress('booting two VMs on the page’s LAN', 0.05);
      const [a, b] = await Promise.all([lab.vm({ label: 'net-vm-a', network: { type: nic } }), lab.vm({ label: 'net-vm-b', network: { type: nic } })]);
      lab.progress('VM → VM: ping and HTTP download', 0.35);
      const vm = await measureVmPair(a, b, p);
      record(lab, 'vm', vm, `over ${nic === 'virtio' ? 'virtio-net' : 'NE2000'} NICs and the page’s switch`);
      await Promise.all([lab.stop(a), lab.stop(b)]);

      lab.progress('booting the container host', 0.55);
      const host = await lab.host({ label: 'net-host' });
      lab.progress('container → container: ping and HTTP download over box0', 0.75);
      const ct = await measureContainerPair(host, p);
      record(lab, 'container', ct, 'over veth pairs on the box0 bridge');

      const ratio = vm.ping.medianMs / ct.ping.medianMs;
      lab.figure('vm', 'rtt.ratio', 'VM round trip ÷ container round trip (medians)', ratio, 'ratio', { dependsOnLoad: true });
      lab.note(
        `A VM-to-VM ping crosses two emulated NICs (${nic}), two emulators and the page's switch; a container-to-container ping crosses a veth pair and a bridge in one kernel. Here the VM round trip was ${ratio.toFixed(1)}× the container's.`,
      );
      const vmRate = mbPerSecond(vm.transfer.bytes, vm.transfer.guestMs);
      const ctRate = mbPerSecond(ct.transfer.bytes, ct.transfer.guestMs);
      lab.note(
        ctRate >= vmRate
          ? `The containers moved the file ${(ctRate / vmRate).toFixed(1)}× as fast: no NIC to emulate, no copy between emulators.`
          : `The VMs moved the file ${(vmRate / ctRate).toFixed(1)}× as fast as the containers: the one emulated CPU of the container host runs both TCP stacks, the server and the client, while each VM has an emulated CPU of its own${driver.runtime === 'browser' ? ' (in its own worker thread)' : ''}. Round trips still favour the containers.`,
      );
      lab.note(
        'On real hardware both are far faster: VMs get paravirtual NICs with vhost in the host kernel, and containers pay the same veth + bridge cost as here without the emulation.',
      );
      lab.note('The guests reach no real network: the LAN is a switch in this page with nothing but the machines on it (no relay, no router).');
      lab.progress('done', 1);
      return lab.result('networking', { vm: summary(vm), container: summary(ct) });
    }),
};
