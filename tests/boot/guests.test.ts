// Real boots of the committed images in v86 under Node (issue 2's proof): the VM from BIOS to
// login: through SYSLINUX and its own 6.1 kernel on the disk; the container host to its shell.
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { boot, Machine, DIST, type GuestKind } from './harness.ts';
import { MARKERS } from '../../src/core/markers.ts';

interface Check {
  name: string;
  cmd: string;
  expect: RegExp;
}

interface GuestCase {
  name: string;
  kind: GuestKind;
  prompt: RegExp;
  login?: string;
  checks: Check[];
  after?: (m: Machine) => Promise<void>;
}

const manifest = JSON.parse(readFileSync(`${DIST}/manifest.json`, 'utf8'));

const CASES: GuestCase[] = [
  {
    name: 'VM: SeaBIOS → SYSLINUX → Linux 6.1 from disk → init → services → login',
    kind: 'vm',
    prompt: MARKERS.login,
    login: 'root',
    checks: [
      { name: 'its own 6.1 kernel', cmd: 'uname -r', expect: new RegExp(`^${manifest.kernels.vm.replace(/\./g, '\\.')}$`, 'm') },
      { name: 'root is on the disk', cmd: 'mount', expect: /^\/dev\/(root|sda2) on \/ type ext2 \(rw/m },
      { name: 'httpd serves the page', cmd: 'wget -qO- http://127.0.0.1/', expect: /Hello from a stacklab VM/ },
      { name: 'syslogd, klogd, crond, httpd run', cmd: 'ps', expect: /syslogd[\s\S]*klogd[\s\S]*crond[\s\S]*httpd/ },
      { name: 'write survives on disk', cmd: 'echo persisted-$((6*7)) > /root/proof.txt && sync && cat /root/proof.txt', expect: /^persisted-42$/m },
    ],
    after: async (m) => {
      // The write reached the emulated disk itself, not just the guest's page cache.
      const disk = m.disk!;
      // The boot and the checks fetched only part of the image...
      const { bytesFetched, bytesWritten } = disk.stats();
      console.log(`VM boot + checks fetched ${bytesFetched} of ${disk.byteLength} disk bytes, wrote ${bytesWritten}`);
      expect(bytesFetched).toBeLessThan(disk.byteLength / 2);
      expect(bytesWritten).toBeGreaterThan(0);
      // ...and the synced file is in the disk's bytes, not only in the guest's page cache.
      const bytes = await disk.read_range(0, disk.byteLength);
      expect(Buffer.from(bytes).includes(Buffer.from('persisted-42\n'))).toBe(true);
    },
  },
  {
    name: 'container host: Linux 6.12 bzImage + initramfs → init → root shell',
    kind: 'host',
    prompt: MARKERS.hostReady,
    checks: [
      { name: 'the 6.12 kernel', cmd: 'uname -r', expect: new RegExp(`^${manifest.kernels.host.replace(/\./g, '\\.')}$`, 'm') },
      {
        name: 'namespaces',
        cmd: 'ls /proc/self/ns',
        expect: /(?=[\s\S]*\bcgroup\b)(?=[\s\S]*\bipc\b)(?=[\s\S]*\bmnt\b)(?=[\s\S]*\bnet\b)(?=[\s\S]*\bpid\b)(?=[\s\S]*\buts\b)/,
      },
      { name: 'cgroup v2 controllers', cmd: 'cat /sys/fs/cgroup/cgroup.controllers', expect: /(?=.*\bcpu\b)(?=.*\bmemory\b)(?=.*\bpids\b)/ },
      { name: 'overlayfs, tmpfs', cmd: 'cat /proc/filesystems', expect: /(?=[\s\S]*overlay)(?=[\s\S]*tmpfs)/ },
      { name: 'virtio-console port for the mux', cmd: 'cat /sys/class/virtio-ports/*/name', expect: /virtio-1/ },
      // init brings lo up through its sysfs flags, not with `ip` (images/host/rootfs/init).
      { name: 'loopback is up', cmd: 'ip link show lo', expect: /^1: lo: <LOOPBACK,UP,LOWER_UP>/m },
    ],
  },
];

describe.each(CASES)('$name', (c) => {
  let m: Machine;
  afterAll(async () => m?.stop());

  it('boots to its prompt', async () => {
    m = await boot(c.kind);
    await m.waitFor(c.prompt, 60_000, 'prompt');
    if (c.login) {
      const from = m.serial.length;
      m.type(`${c.login}\n`);
      await m.waitFor(/# $/m, 20_000, 'shell', from);
    } else {
      m.type('\n');
      await m.waitFor(/# $/m, 20_000, 'shell');
    }
  });

  it.each(c.checks)('$name', async (check) => {
    expect(m, 'booted').toBeDefined();
    const out = await m.run(check.cmd);
    expect(out).toMatch(check.expect);
  });

  if (c.after) it('checks from outside the guest', async () => c.after!(m));
});
