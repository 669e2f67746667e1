// The page's LAN for real (issue 5's Networking row, issue 6's "two LANs do not see each other" and
// "the guests reach no real network"): VMs boot in v86 with their NICs on src/core/lan switches,
// ping and download from each other; containers do the same over box0 in one host kernel.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { boot, Machine } from './harness.ts';
import { MARKERS } from '../../src/core/markers.ts';
import { EthernetSwitch, lanMac, nicKind, nicMac, vmAddressForMac } from '../../src/core/lan/index.ts';
import { parseSentinel, sentinelLine } from '../../src/core/experiments/shell.ts';
import { ipv4, mbPerSecond, measureContainerPair, measureVmPair, type PairFigures, type Shell } from '../../src/core/experiments/networking.ts';

/** The harness console as an experiment Shell: the drivers' begin/end markers (src/core/experiments/shell.ts). */
let seq = 0;
function shell(m: Machine): Shell {
  return {
    async run(cmd, opts) {
      const n = ++seq;
      const from = m.serial.length;
      m.type(sentinelLine(cmd, n));
      await m.waitFor(new RegExp(`@@end-${n}:\\d+\\r?\\n`), opts?.timeoutMs ?? 30_000, `run ${cmd}`, from);
      return parseSentinel(m.serial.slice(from), n)!;
    },
  };
}

async function login(m: Machine) {
  // Generous: four emulators share this one Node thread, and the machine may be loaded.
  await m.waitFor(MARKERS.login, 240_000, 'login');
  const from = m.serial.length;
  m.type('root\n');
  await m.waitFor(/# $/m, 30_000, 'shell', from);
  await shell(m).run('stty -echo'); // as the drivers do: no echo, no line editor
}

const lanOne = new EthernetSwitch();
const lanTwo = new EthernetSwitch();
// B and C get the same last octet, hence the same address, on two different LANs.
const MAC = { a: lanMac(1, 1), b: lanMac(1, 2), c: lanMac(2, 2) };
const params = { pings: 4, blobBytes: 512 * 1024, now: () => performance.now() };

let a: Machine, b: Machine, c: Machine, host: Machine;
let vmPair: PairFigures;

beforeAll(async () => {
  // All four at once: the test's wall time is one boot, not four.
  a = await boot('vm', { lan: { switch: lanOne, mac: MAC.a, nic: 'virtio' } });
  b = await boot('vm', { lan: { switch: lanOne, mac: MAC.b, nic: 'virtio' } });
  c = await boot('vm', { lan: { switch: lanTwo, mac: MAC.c, nic: 'ne2k' } });
  host = await boot('host');
  await Promise.all([
    login(a),
    login(b),
    login(c),
    host.waitFor(MARKERS.hostReady, 240_000, 'host ready').then(() => {
      host.type('\n');
      return host.waitFor(/# $/m, 20_000, 'host shell').then(() => shell(host).run('stty -echo'));
    }),
  ]);
}, 300_000);

afterAll(async () => {
  await Promise.all([a, b, c, host].map((m) => m?.stop().catch(() => {})));
});

describe('VMs on one switch', () => {
  it('each NIC has the MAC the LAN gave it, and eth0 the address derived from it', async () => {
    expect(nicKind(a.emulator)).toBe('virtio');
    expect(nicKind(c.emulator)).toBe('ne2k');
    for (const [m, mac] of [
      [a, MAC.a],
      [b, MAC.b],
      [c, MAC.c],
    ] as const) {
      expect(nicMac(m.emulator)).toBe(mac);
      expect(await ipv4(shell(m))).toBe(vmAddressForMac(mac));
    }
    expect(vmAddressForMac(MAC.b)).toBe(vmAddressForMac(MAC.c));
  });

  it('ping each other (RTTs positive) and download over HTTP through the switch', async () => {
    const received = lanOne.counters.received;
    vmPair = await measureVmPair(shell(a), shell(b), params);
    const { ping, transfer } = vmPair;
    console.log(
      `VM→VM (virtio, in one Node thread): rtt min/median/max ${ping.minMs}/${ping.medianMs}/${ping.maxMs} ms; ` +
        `${transfer.bytes} B in ${transfer.guestMs} ms guest = ${mbPerSecond(transfer.bytes, transfer.guestMs).toFixed(2)} MB/s (wall ${transfer.wallMs.toFixed(0)} ms)`,
    );
    expect(ping.received).toBe(params.pings);
    expect(ping.timesMs).toHaveLength(params.pings);
    for (const t of ping.timesMs) expect(t).toBeGreaterThan(0);
    expect(transfer.bytes).toBe(params.blobBytes);
    expect(transfer.guestMs).toBeGreaterThan(0);
    // The frames really went through this switch: at least one per 1500 bytes of the file.
    expect(lanOne.counters.received - received).toBeGreaterThan(params.blobBytes / 1500);
    expect(lanOne.learned).toBe(2);
  });

  it('a runt and a giant put on the LAN are dropped and counted; the LAN keeps working', async () => {
    const rogue = lanOne.connect(() => {}, 'rogue');
    const before = { ...lanOne.counters };
    rogue.send(new Uint8Array(9));
    rogue.send(new Uint8Array(4000).fill(0xff));
    rogue.disconnect();
    expect(lanOne.counters.runts).toBe(before.runts + 1);
    expect(lanOne.counters.giants).toBe(before.giants + 1);
    expect(lanOne.counters.received).toBe(before.received);
    expect((await shell(a).run(`ping -c 1 -W 5 ${vmAddressForMac(MAC.b)}`)).output).toMatch(/1 packets received/);
  });
});

describe('isolation', () => {
  it('a VM on another switch instance reaches neither, even at the same address as B', async () => {
    const r = await shell(c).run(`ping -c 2 -W 2 ${vmAddressForMac(MAC.a)}`, { timeoutMs: 30_000 });
    expect(r.exitCode).not.toBe(0);
    expect(r.output).toMatch(/0 packets received/);
    expect(lanTwo.counters.received).toBeGreaterThan(0); // C did send (ARP requests), on its own LAN
    // A and B's switch never heard from C (A and B may still re-check each other's ARP entries meanwhile).
    expect(lanOne.learnedMacs().sort()).toEqual([MAC.a, MAC.b]);
    expect(lanTwo.learnedMacs()).toEqual([MAC.c]);
  });

  it('guests reach no real network: no route out, and with one added nothing answers', async () => {
    const vm = shell(a);
    const direct = await vm.run('ping -c 1 -W 2 1.1.1.1', { timeoutMs: 30_000 });
    expect(direct.exitCode).not.toBe(0);
    expect(direct.output).toMatch(/unreachable/i);
    // The same wget, pointed at B, brings back B's page: so the failure below is the network's
    // refusal, not wget's (Debian's busybox crashed on -T before fetching anything, exit 139).
    const near = await vm.run(`wget -q -T 3 -O - http://${vmAddressForMac(MAC.b)}/`, { timeoutMs: 30_000 });
    expect(near.output).toMatch(/<h1>Hello from a stacklab VM<\/h1>/);
    expect(near.exitCode).toBe(0);
    const far = await vm.run('wget -q -T 3 -O - http://1.1.1.1/', { timeoutMs: 30_000 });
    expect(far.output).toMatch(/can't connect to remote host \(1\.1\.1\.1\): Network is unreachable/);
    expect(far.exitCode).toBe(1);
    // Give the guest a default route anyway: the would-be router (10.86.0.1) never answers ARP.
    const before = lanOne.counters.flooded;
    const routed = await vm.run('ip route add default via 10.86.0.1 && ping -c 2 -W 2 1.1.1.1', { timeoutMs: 30_000 });
    await vm.run('ip route del default');
    expect(routed.exitCode).not.toBe(0);
    expect(routed.output).toMatch(/0 packets received/);
    expect(lanOne.counters.flooded).toBeGreaterThan(before); // its ARP requests went out and stayed unanswered
  });
});

describe('containers on box0', () => {
  it('ping and download over the bridge, with a shorter round trip than VM to VM', async () => {
    expect(vmPair, 'the VM pair test ran first').toBeDefined();
    // The VMs are done: let the host have the CPU (all machines share this one Node thread).
    await Promise.all([a, b, c].map((m) => m.stop()));
    const ct = await measureContainerPair(shell(host), params);
    const { ping, transfer } = ct;
    console.log(
      `container→container (box0): rtt min/median/max ${ping.minMs}/${ping.medianMs}/${ping.maxMs} ms; ` +
        `${transfer.bytes} B in ${transfer.guestMs} ms guest = ${mbPerSecond(transfer.bytes, transfer.guestMs).toFixed(2)} MB/s (wall ${transfer.wallMs.toFixed(0)} ms)`,
    );
    expect(ct.to).toMatch(/^10\.88\./);
    expect(ping.received).toBe(params.pings);
    for (const t of ping.timesMs) expect(t).toBeGreaterThan(0);
    expect(transfer.bytes).toBe(params.blobBytes);
    expect(ping.medianMs).toBeLessThan(vmPair.ping.medianMs);
  });

  it('neither the host nor its containers reach a real network', async () => {
    const sh = shell(host);
    const fromHost = await sh.run('ping -c 1 -W 2 1.1.1.1', { timeoutMs: 30_000 });
    expect(fromHost.exitCode).not.toBe(0);
    expect((await sh.run('box run -d --name net-out busybox sleep 100000', { timeoutMs: 60_000 })).exitCode).toBe(0);
    const fromContainer = await sh.run('box exec net-out ping -c 1 -W 2 1.1.1.1', { timeoutMs: 30_000 });
    await sh.run('box rm -f net-out');
    expect(fromContainer.exitCode).not.toBe(0);
    expect(fromContainer.output).toMatch(/unreachable|0 packets received/i);
  });
});
