// Snapshots of real guests (issue 6): save a running machine's v86 state into a stacklab snapshot
// file, restore it into a freshly built emulator, and find the guest exactly as it was — a file
// written on the host, a container still running with its file, new containers still startable, a
// VM's disk writes back. A restore into a different configuration is refused before v86 sees it.
import { describe, it, expect, afterAll } from 'vitest';
import { boot, hostCmdline, Machine } from './harness.ts';
import { MARKERS } from '../../src/core/markers.ts';
import { v86VirtioPort, type V86VirtioPort } from '../../src/core/mux/index.ts';
import { SnapshotMismatchError, adoptChannels, decodeHeader } from '../../src/core/snapshot/index.ts';
import { nodeConfig, restoreMachine, saveMachine, type Saved } from './snapshot-node.ts';

const utf8 = new TextDecoder();

/** A container shell on one mux channel: type a command, read until an end marker. */
function shell(port: V86VirtioPort, channel: number) {
  let screen = '';
  let seq = 0;
  port.host.listen(channel, {
    output: (b) => {
      screen += utf8.decode(b);
      port.host.ack(channel, b.length);
    },
  });
  return async (cmd: string, timeoutMs = 30_000): Promise<string> => {
    const n = ++seq;
    const from = screen.length;
    port.host.input(channel, `${cmd}; echo "@@"end-${n}\n`);
    const marker = new RegExp(`^@@end-${n}\\r?$`, 'm');
    const deadline = performance.now() + timeoutMs;
    while (!marker.test(screen.slice(from))) {
      if (performance.now() > deadline) throw new Error(`container ${channel}: timed out on ${cmd}\n${screen.slice(-1500)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const lines = screen.slice(from).split(/\r?\n/);
    return lines
      .slice(
        1,
        lines.findIndex((l) => marker.test(l)),
      )
      .join('\n');
  };
}

const machines: Machine[] = [];
const ports: V86VirtioPort[] = [];
afterAll(async () => {
  for (const p of ports) p.close();
  for (const m of machines) await m.stop();
});

describe('container host: save, restore into a fresh emulator', () => {
  const token = `proof-${Date.now().toString(36)}`;
  let saved: Saved;
  let containerChannel = 0;
  let guestCredit = 0;

  it('boots, writes a file on the host and in a container, and saves', async () => {
    const m = await boot('host');
    machines.push(m);
    const port = v86VirtioPort(m.emulator, 1);
    ports.push(port);
    await m.waitFor(MARKERS.hostReady, 90_000, 'host ready');
    m.type('\n');
    await m.waitFor(/# $/m, 20_000, 'host shell');
    await port.host.ready;
    expect(await m.run(`echo host-${token} > /root/proof; cat /root/proof`)).toMatch(new RegExp(`^host-${token}$`, 'm'));

    const run = port.host.run(['-it', '--name', 'keep', '--hostname', 'keep', 'busybox', 'sh']);
    containerChannel = run.channel;
    const sh = shell(port, run.channel);
    await run.started;
    expect(await sh(`echo box-${token} > /proof; cat /proof`)).toMatch(new RegExp(`^box-${token}\\r?$`, 'm'));
    guestCredit = port.host.guestCredit(run.channel);

    saved = await saveMachine(m, nodeConfig('host'), { containers: [{ channel: run.channel, name: 'keep', image: 'busybox', guestCredit }] });
    console.log(`host state: ${(saved.rawBytes / 1048576).toFixed(1)} MiB raw, ${(saved.storedBytes / 1048576).toFixed(1)} MiB gzip`);
    // Zeroed pages are not stored (v86) and init_on_free=1 zeroes freed ones: far below 128 MiB of RAM.
    expect(saved.rawBytes).toBeLessThan(40 << 20);
    expect(saved.storedBytes).toBeLessThan(saved.rawBytes);
    expect(decodeHeader(saved.file).header.config.cmdline).toContain('init_on_free=1');
    port.close();
    await m.stop();
  }, 110_000);

  it('restores: host file there, container alive with its file, a new container starts', async () => {
    const { m, restoreMs } = await restoreMachine('host', saved.file);
    machines.push(m);
    expect(restoreMs).toBeGreaterThan(0);
    // The host shell answers straight away: no boot messages, no BIOS.
    expect(await m.run('cat /root/proof', 20_000)).toMatch(new RegExp(`^host-${token}$`, 'm'));
    expect(m.serial).not.toMatch(/SeaBIOS|Linux version/);

    const port = v86VirtioPort(m.emulator, 1);
    ports.push(port);
    await port.host.ready;
    adoptChannels(port.host, [{ channel: containerChannel, guestCredit }]);
    const old = shell(port, containerChannel);
    expect(await old('cat /proof; hostname')).toMatch(new RegExp(`^box-${token}\\r?\\nkeep\\r?$`, 'm'));

    const run = port.host.run(['-it', '--name', 'fresh', '--hostname', 'fresh', 'busybox', 'sh']);
    expect(run.channel).not.toBe(containerChannel);
    const sh = shell(port, run.channel);
    await run.started;
    expect(await sh('hostname; cat /proof 2>&1')).toMatch(/^fresh\r?\n.*No such file/m);
  }, 60_000);

  it('refuses a restore into a different configuration, naming the difference', async () => {
    await expect(restoreMachine('host', saved.file, { memoryMb: 64 })).rejects.toThrow(
      /does not fit this machine: the snapshot was taken with 128 MiB of memory, this machine has 64 MiB/,
    );
    await expect(restoreMachine('host', saved.file, { extra: { cmdline: `${hostCmdline()} quiet` } })).rejects.toThrow(SnapshotMismatchError);
    await expect(restoreMachine('vm', saved.file)).rejects.toThrow(/snapshot is of a container host, this machine is a virtual machine/);
  }, 60_000);
});

describe('VM: disk writes travel with the state', () => {
  it('a file written (and flushed out of the page cache) before the save is read back from the restored disk', async () => {
    const m = await boot('vm');
    machines.push(m);
    await m.waitFor(MARKERS.login, 90_000, 'login');
    m.type('root\n');
    await m.waitFor(/# $/m, 20_000, 'root shell');
    const token = `vm-${Date.now().toString(36)}`;
    await m.run(`echo ${token} > /root/proof; sync; echo 3 > /proc/sys/vm/drop_caches`);
    expect(m.disk!.stats().bytesWritten).toBeGreaterThan(0);
    const saved = await saveMachine(m, nodeConfig('vm'));
    console.log(`vm state: ${(saved.rawBytes / 1048576).toFixed(1)} MiB raw, ${(saved.storedBytes / 1048576).toFixed(1)} MiB gzip`);
    await m.stop();

    const r = await restoreMachine('vm', saved.file);
    machines.push(r.m);
    // Nothing cached: the guest reads the blocks from the disk, whose writes came back with the state.
    expect(r.m.disk!.stats().bytesWritten).toBe(m.disk!.stats().bytesWritten);
    expect(await r.m.run('echo 3 > /proc/sys/vm/drop_caches; cat /root/proof', 30_000)).toMatch(new RegExp(`^${token}$`, 'm'));
  }, 110_000);
});
