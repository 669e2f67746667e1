// What boxd prepares while idle beyond namespaces (issue 10, warm start): for the image it expects
// next (the last one started), the state directory and overlay root of the container it would start
// unnamed (<image>-<id>), and that container's cgroup with the prepared child already in it. Each
// test idles first so boxd prepares, then checks that a start takes what fits, and only that: the
// right cgroup (seen from the host and from inside), the right root, limits applied, and nothing left
// behind by `box rm` or by a start that took something else.
import { describe, it, expect } from 'vitest';
import { hostHasContainerImages, shStatus } from './harness.ts';
import { sharedHostWithMux } from './shared-host.ts';

const idle = () => new Promise((ok) => setTimeout(ok, 3000));

describe.skipIf(!hostHasContainerImages())('starts take the root and cgroup prepared while idle', () => {
  const host = sharedHostWithMux();
  const sh = (cmd: string, timeoutMs = 60_000) => shStatus(host.m, cmd, timeoutMs);
  /** `box inspect` of a container: its name, host PID and PrewarmedNs (0 = made at the request). */
  async function inspect(name: string) {
    const r = await sh(`box inspect ${name}`);
    expect(r.code).toBe(0);
    const pre = /"PrewarmedNs": \{"namespaces": (\d+), "network": (\d+), "cgroup": (\d+), "root": (\d+)\}/.exec(r.out);
    expect(pre, r.out).not.toBeNull();
    return {
      name: /"Name": "([^"]+)"/.exec(r.out)![1]!,
      pid: Number(/"Pid": (\d+)/.exec(r.out)![1]),
      namespaces: Number(pre![1]),
      cgroup: Number(pre![3]),
      root: Number(pre![4]),
    };
  }

  // Runs first, on a host where nothing was started yet. A pre-pulled layer sits on the store's ATA
  // disk: boxd reads the prepared image's files ahead in a nice'd child while idle (prefetch.c), so
  // the first start reads nothing there. Without it `box run busybox` read the 2 MB busybox binary:
  // about 4,000 sectors, and 5 M guest instructions against 1 M for a warm start.
  it("the first start of the prepared image reads nothing from the store's disk: its files were read ahead", async () => {
    // Idle: boxd prepared the next start and its prefetch child logged what it read (boxd logs it
    // at the child's end; without the fix, never: the loop then gives up after 60 s of guest time).
    // Then the disk goes quiet: the readahead's last reads may still be in flight after the log line.
    const sectorsRead = async () => Number((await sh('cat /sys/block/sda/stat')).out.trim().split(/\s+/)[2]);
    await sh('i=0; until grep -q "prefetched busybox" /var/log/boxd.log || [ $i -ge 600 ]; do usleep 100000; i=$((i+1)); done', 90_000);
    await sh(
      'a=0; b=1; i=0; while [ "$a" != "$b" ] && [ $i -lt 50 ]; do set -- $(cat /sys/block/sda/stat); a=$3; usleep 300000; set -- $(cat /sys/block/sda/stat); b=$3; i=$((i+1)); done',
    );
    const before = await sectorsRead();
    expect((await sh('box run --rm busybox true')).code).toBe(0);
    expect((await sectorsRead()) - before).toBeLessThan(64);
    expect((await sh('grep "prefetched busybox" /var/log/boxd.log')).out).toMatch(/prefetched busybox: 1 of 1 layers, [1-9]\d* files, [1-9]\d* bytes/);
  }, 120_000);

  it('an unnamed start takes its prepared cgroup and root; limits apply; box rm leaves neither behind', async () => {
    await sh('box run --rm busybox true'); // busybox is the last image started
    await idle();
    const id = (await sh('box run -d --pids-limit 77 busybox sleep 100000')).out.trim();
    const c = await inspect(id);
    expect(c.name).toMatch(/^busybox-\d+$/);
    expect(c.namespaces).toBeGreaterThan(0);
    expect(c.cgroup).toBeGreaterThan(0);
    expect(c.root).toBeGreaterThan(0);
    // Its cgroup is box/<name> from the host, the root of its own cgroup namespace inside, with the
    // request's limit; its root is busybox's overlay over run/<name>/upper.
    expect((await sh(`cat /proc/${c.pid}/cgroup`)).out.trim()).toBe(`0::/box/${c.name}`);
    const inside = await sh(`box exec ${c.name} sh -c 'cat /proc/self/cgroup /sys/fs/cgroup/pids.max; echo hi > /made-here; ls /bin/busybox'`);
    expect(inside.out).toBe('0::/\n77\n/bin/busybox\n');
    expect((await sh(`cat /sys/fs/cgroup/box/${c.name}/pids.max /var/lib/box/run/${c.name}/upper/made-here`)).out).toBe('77\nhi\n');
    expect((await sh(`box stats ${c.name}`)).out).toMatch(new RegExp(`^${id}\\s+${c.name}\\s.* / none\\s+1\\s`, 'm'));
    expect((await sh(`box rm -f ${c.name}`)).code).toBe(0);
    // At once, before boxd idles again (it may then prepare the same name anew, without the limit).
    const left = await sh(`cat /sys/fs/cgroup/box/${c.name}/pids.max; ls /var/lib/box/run/${c.name}/upper/made-here`);
    expect(left.out).not.toMatch(/^77$|made-here$/m);
  }, 120_000);

  it('a start of another image than the prepared one gets its own root and cgroup; the prepared ones go', async () => {
    await sh('box run --rm busybox true');
    await idle(); // prepared for busybox
    const c = await inspect((await sh('box run -d web sleep 100000')).out.trim());
    expect(c.name).toMatch(/^web-\d+$/);
    expect(c.namespaces).toBeGreaterThan(0);
    expect(c.cgroup).toBe(0);
    expect(c.root).toBe(0);
    expect((await sh(`box exec ${c.name} sh -c 'cat /proc/self/cgroup; ls -1 /www/index.html /etc/httpd.conf'`)).out).toBe(
      '0::/\n/etc/httpd.conf\n/www/index.html\n',
    );
    expect((await sh(`cat /proc/${c.pid}/cgroup`)).out.trim()).toBe(`0::/box/${c.name}`);
    // What was prepared for busybox-<id> is removed once boxd idles (its child moved out).
    const prepared = c.name.replace(/^web/, 'busybox');
    await idle();
    expect((await sh(`ls -d /sys/fs/cgroup/box/${prepared} /var/lib/box/run/${prepared}`)).code).not.toBe(0);
    // The next start of web takes what is prepared for it now.
    const next = await inspect((await sh('box run -d web sleep 100000')).out.trim());
    expect(next.root).toBeGreaterThan(0);
    expect((await sh(`box exec ${next.name} ls /www/index.html`)).out).toBe('/www/index.html\n');
    await sh(`box rm -f ${c.name} ${next.name} >/dev/null`);
  }, 120_000);

  it('a named start takes the prepared root (its directory renamed) and its own cgroup', async () => {
    await sh('box run --rm busybox true');
    await idle();
    await sh('box run -d --name warm-named busybox sleep 100000');
    const c = await inspect('warm-named');
    expect(c.root).toBeGreaterThan(0);
    expect(c.cgroup).toBe(0);
    expect((await sh(`cat /proc/${c.pid}/cgroup`)).out.trim()).toBe('0::/box/warm-named');
    await sh(`box exec warm-named sh -c 'echo named > /f'`);
    expect((await sh('cat /var/lib/box/run/warm-named/upper/f')).out).toBe('named\n');
    expect((await sh('box diff warm-named')).out).toMatch(/^A \/f$/m);
    await sh('box rm -f warm-named >/dev/null');
    expect((await sh('ls -d /sys/fs/cgroup/box/warm-named /var/lib/box/run/warm-named')).code).not.toBe(0);
  }, 120_000);

  it('a privileged start does not take the unprivileged (nodev) root prepared for it', async () => {
    // mountinfo: id parent major:minor root mountpoint options…; the line of "/" with nodev, counted.
    const rootNodev = 'grep -cE "^([^ ]+ ){4}/ [^ ]*nodev" /proc/self/mountinfo; true';
    await sh('box run --rm busybox true');
    await idle();
    expect((await sh(`box run --rm busybox sh -c '${rootNodev}'`)).out).toBe('1\n');
    await idle();
    const r = await sh(`box run --rm --privileged busybox sh -c 'cat /proc/self/cgroup; ${rootNodev}'`);
    expect(r.code).toBe(0);
    expect(r.out).toBe('0::/\n0\n');
  }, 120_000);
});
