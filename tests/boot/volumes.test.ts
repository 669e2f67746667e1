// Volumes for real (issue 13 item 2): `box run -v` with a named volume that outlives `box rm`, a
// bind mount of a host directory seen both ways, `:ro`, `box volume create|ls|rm|inspect` with
// Docker's words, and the bad `-v` lines Docker refuses. Each runs on a booted container host: its
// `box` CLI on the serial console, and once through the page's mux RUN.
import { describe, it, expect } from 'vitest';
import { args, hostHasContainerImages, shStatus, Terminal, utf8 } from './harness.ts';
import { sharedHostWithMux } from './shared-host.ts';
import { FrameType as T } from '../../src/core/mux/frames.ts';

describe.skipIf(!hostHasContainerImages())('box run -v and box volume, as Docker', () => {
  const host = sharedHostWithMux();
  const sh = (cmd: string, timeoutMs = 60_000) => shStatus(host.m, cmd, timeoutMs);

  it('a named volume is made on first use, outlives box rm, and the next container sees its data', async () => {
    const w = await sh(`box run --name writer -v notes:/data busybox sh -c 'echo kept > /data/f; ls -ld /data | cut -c1'`);
    expect(w.code).toBe(0);
    expect(w.out).toMatch(/^d$/m);
    expect((await sh('box rm writer')).code).toBe(0);
    expect((await sh('box ps -a | grep -c writer')).out.trim()).toBe('0');
    const r = await sh(`box run --rm -v notes:/srv/notes busybox cat /srv/notes/f`);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^kept$/m);
    // Where Docker keeps it: <root>/volumes/NAME/_data, listed with Docker's columns.
    expect((await sh('cat /var/lib/box/volumes/notes/_data/f')).out).toMatch(/^kept$/m);
    const ls = await sh('box volume ls');
    expect(ls.out).toMatch(/^DRIVER\s+VOLUME NAME$/m);
    expect(ls.out).toMatch(/^local\s+notes$/m);
  }, 120_000);

  it('a bind mount of a host directory is seen both ways; a missing host directory is made', async () => {
    await sh('rm -rf /tmp/share /tmp/made; mkdir -p /tmp/share && echo from-host > /tmp/share/in');
    const r = await sh(`box run --rm -v /tmp/share:/share busybox sh -c 'cat /share/in; echo from-container > /share/out'`);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^from-host$/m);
    expect((await sh('cat /tmp/share/out')).out).toMatch(/^from-container$/m);
    // Docker's -v makes a bind source that is not there (as a directory).
    const made = await sh(`box run --rm -v /tmp/made/deep:/x busybox sh -c 'echo hi > /x/f' && cat /tmp/made/deep/f`);
    expect(made.code).toBe(0);
    expect(made.out).toMatch(/^hi$/m);
  }, 120_000);

  it(':ro refuses writes, on a bind and on a volume, and the data stays readable', async () => {
    await sh('mkdir -p /tmp/share && echo keep > /tmp/share/ro-in');
    const b = await sh(`box run --rm -v /tmp/share:/share:ro busybox sh -c 'cat /share/ro-in; echo x > /share/new' 2>&1`);
    expect(b.out).toMatch(/^keep$/m);
    expect(b.out).toMatch(/Read-only file system/);
    expect(b.code).not.toBe(0);
    expect((await sh('ls /tmp/share/new')).code).not.toBe(0);
    const v = await sh(`box run --rm -v notes:/n:ro busybox sh -c 'cat /n/f; touch /n/g' 2>&1`);
    expect(v.out).toMatch(/^kept$/m);
    expect(v.out).toMatch(/Read-only file system/);
    expect(v.code).not.toBe(0);
  }, 120_000);

  it("box volume rm of a volume in use is refused with Docker's words and 1; once the container is gone it goes", async () => {
    const id = (await sh('box run -d --name holder -v busy:/b busybox sleep 100000')).out.trim();
    expect(id).toMatch(/^[0-9a-f]{12}$/);
    const refused = await sh('box volume rm busy');
    expect(refused.code).toBe(1);
    expect(refused.out.trim()).toBe(`Error response from daemon: remove busy: volume is in use - [${id}]`);
    // Stopped still counts, as in Docker: only box rm lets it go.
    await sh('box stop -t 0 holder >/dev/null');
    expect((await sh('box volume rm busy')).code).toBe(1);
    await sh('box rm holder >/dev/null');
    const gone = await sh('box volume rm busy');
    expect(gone.code).toBe(0);
    expect(gone.out.trim()).toBe('busy');
    expect((await sh('box volume rm busy')).out).toMatch(/^Error response from daemon: get busy: no such volume$/m);
  }, 120_000);

  it('box volume create and inspect; box inspect shows Mounts', async () => {
    expect((await sh('box volume create made')).out.trim()).toBe('made');
    const vi = await sh('box volume inspect made');
    expect(vi.code).toBe(0);
    expect(vi.out).toMatch(/"Mountpoint": "\/var\/lib\/box\/volumes\/made\/_data"/);
    expect(vi.out).toMatch(/"Driver": "local"/);
    const ci = await sh(`box run -d --name mounted -v made:/m -v /tmp/share:/s:ro busybox sleep 100000 >/dev/null; box inspect mounted`);
    expect(ci.out).toMatch(/"Type": "volume", "Name": "made", "Source": "\/var\/lib\/box\/volumes\/made\/_data", "Destination": "\/m"/);
    expect(ci.out).toMatch(/"Type": "bind", "Source": "\/tmp\/share", "Destination": "\/s", "Mode": "ro", "RW": false/);
    await sh('box rm -f mounted >/dev/null');
    expect((await sh('box volume inspect nothing-here')).code).toBe(1);
  }, 120_000);

  it('-v /PATH alone: an anonymous volume (64 hex digits); --rm takes it along, box rm leaves it, as Docker', async () => {
    const count = async () => Number((await sh('box volume ls -q | grep -cE "^[0-9a-f]{64}$"')).out.trim());
    const before = await count();
    expect((await sh(`box run --rm -v /scratch busybox sh -c 'echo x > /scratch/f'`)).code).toBe(0);
    expect(await count()).toBe(before);
    const kept = await sh(`box run --name anon -v /scratch busybox true; box inspect anon | grep -o '"Name": "[0-9a-f]*"'`);
    const name = /"Name": "([0-9a-f]{64})"/.exec(kept.out)?.[1];
    expect(name).toBeDefined();
    await sh('box rm anon >/dev/null');
    expect(await count()).toBe(before + 1);
    expect((await sh(`box volume rm ${name}`)).code).toBe(0);
  }, 120_000);

  it.each([
    {
      v: 'data:data',
      says: `invalid volume specification: 'data:data': invalid mount config for type "volume": invalid mount path: 'data' mount path must be absolute`,
    },
    {
      v: '/tmp/share:share',
      says: `invalid volume specification: '/tmp/share:share': invalid mount config for type "bind": invalid mount path: 'share' mount path must be absolute`,
    },
    { v: 'a:/b:ro:x', says: `invalid volume specification: 'a:/b:ro:x'` },
    { v: '/data:ro', says: `invalid volume specification: '/data:ro'` },
    { v: 'data:/data:rx', says: 'invalid mode: rx' },
    { v: '/tmp:/', says: `invalid volume specification: '/tmp:/': invalid mount config for type "bind": invalid specification: destination can't be '/'` },
    { v: 'no/slash:/x', says: `create no/slash: "no/slash" includes invalid characters for a local volume name` },
  ])('-v $v is refused with one line and 125', async ({ v, says }) => {
    const r = await sh(`box run -v '${v}' busybox true 2>&1`);
    expect(r.code).toBe(125);
    expect(r.out.trim().split('\n')).toHaveLength(1);
    expect(r.out).toContain(`Error response from daemon: ${says}`);
  });

  it('two -v on one target: Docker\'s "Duplicate mount point"', async () => {
    const r = await sh(`box run -v a1:/d -v /tmp:/d busybox true 2>&1`);
    expect(r.code).toBe(125);
    expect(r.out.trim()).toBe('box: Error response from daemon: Duplicate mount point: /d');
  });

  it('the page: a RUN over the mux takes -v, and a bad one gets ERROR', async () => {
    const { mux } = host;
    mux.send(T.RUN, 300, args('-it', '-v', 'pagevol:/work', 'busybox', 'sh'));
    const f = await mux.waitFrame((f) => f.channel === 300 && (f.type === T.STARTED || f.type === T.ERROR), 60_000, 'STARTED 300');
    expect(f.type).toBe(T.STARTED);
    const term = new Terminal(mux, 300);
    await term.run('echo from-page > /work/p');
    mux.send(T.REMOVE, 300);
    expect((await sh('cat /var/lib/box/volumes/pagevol/_data/p')).out).toMatch(/^from-page$/m);
    mux.send(T.RUN, 301, args('-v', 'x:y', 'busybox', 'true'));
    const e = await mux.waitFrame((f) => f.channel === 301 && (f.type === T.STARTED || f.type === T.ERROR), 60_000, 'ERROR 301');
    expect(e.type).toBe(T.ERROR);
    expect(utf8.decode(e.payload.subarray(4))).toMatch(/invalid mount path: 'y' mount path must be absolute/);
  }, 120_000);

  it('a start with volumes still takes the namespaces prepared while idle (open_tree + move_mount)', async () => {
    // Idle for a moment so boxd prepares the next start's namespaces, then start with two mounts.
    await new Promise((ok) => setTimeout(ok, 3000));
    const r = await sh(
      `box run -d --name warmvol -v notes:/n -v /tmp/share:/s busybox sleep 100000 >/dev/null; box inspect warmvol | grep -o '"PrewarmedNs": {"namespaces": [0-9]*'; box exec warmvol cat /n/f`,
    );
    expect(r.out).toMatch(/"PrewarmedNs": \{"namespaces": [1-9]/);
    expect(r.out).toMatch(/^kept$/m);
    await sh('box rm -f warmvol >/dev/null');
  }, 120_000);
});
