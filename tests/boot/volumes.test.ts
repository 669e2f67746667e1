// Volumes for real (issue 13 item 2): `box run -v` with a named volume that outlives `box rm`, a
// bind mount of a host directory seen both ways, `:ro`, `box volume create|ls|rm|inspect|prune`
// with Docker's words, the bad `-v` and `--mount` lines Docker refuses, the image's files copied
// into an empty volume, mounts under /dev and none under /proc, and what a failed start leaves;
// tmpfs mounts (--mount type=tmpfs, --tmpfs) and a Dockerfile VOLUME built by box build.
// Each runs on a booted container host: its `box` CLI on the serial console, and once through the
// page's mux RUN. Start costs with a volume populated or not are printed (guest instructions).
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
    // A relative host path is no bind: the daemon reads it as a volume name and says to use an absolute path.
    {
      v: './share:/x',
      says: `create ./share: "./share" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
    },
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

  it("an empty volume gets the image's files first (Docker's copy); one holding data is never overwritten; nocopy and binds never copy", async () => {
    const first = await sh(`box run --rm -v site:/www web ls /www`);
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/^index.html$/m);
    expect((await sh('ls /var/lib/box/volumes/site/_data')).out).toMatch(/^index.html$/m);
    await sh(`box run --rm -v site:/www web sh -c 'echo mine > /www/index.html; echo extra > /www/extra'`);
    expect((await sh(`box run --rm -v site:/www web cat /www/index.html /www/extra`)).out).toBe('mine\nextra\n');
    // `volume create` makes an empty volume: emptiness is the rule, so it is filled too (owner and mode of the image's dir).
    await sh('box volume create made-empty >/dev/null');
    expect((await sh(`box run --rm -v made-empty:/etc busybox sh -c 'cat /etc/passwd | head -1; stat -c %a /etc'`)).out).toBe(
      'root:x:0:0:root:/root:/bin/sh\n755\n',
    );
    // An anonymous volume, and a read-only one: filled before they are mounted.
    expect((await sh(`box run --rm -v /www web cat /www/index.html`)).out).toMatch(/<html/);
    const ro = await sh(`box run --rm -v rofilled:/www:ro web sh -c 'cat /www/index.html | head -1; touch /www/x' 2>&1`);
    expect(ro.out).toMatch(/<!doctype html>/);
    expect(ro.out).toMatch(/Read-only file system/);
    // nocopy (-v and --mount), and a bind: nothing copied.
    expect((await sh(`box run --rm -v bare:/www:nocopy web ls -A /www | wc -l`)).out.trim()).toBe('0');
    expect((await sh(`box run --rm --mount type=volume,src=bare2,dst=/www,volume-nocopy web ls -A /www | wc -l`)).out.trim()).toBe('0');
    await sh('rm -rf /tmp/emptybind && mkdir /tmp/emptybind');
    expect((await sh(`box run --rm -v /tmp/emptybind:/www web ls -A /www | wc -l`)).out.trim()).toBe('0');
    expect((await sh('ls -A /tmp/emptybind | wc -l')).out.trim()).toBe('0');
  }, 240_000);

  it('start cost: a volume populated from the image against nocopy and no volume (guest instructions, printed)', async () => {
    const rows: { start: string; instructions: number; wallMs: number }[] = [];
    const cases: [string, (i: number) => string][] = [
      ['busybox, no volume', () => 'box run --rm busybox true'],
      ['busybox -v new:/data (nothing there to copy)', (i) => `box run --rm -v data${i}:/data busybox true`],
      ['busybox -v new:/bin (its applets copied)', (i) => `box run --rm -v cp${i}:/bin busybox true`],
      ['web -v new:/www:nocopy', (i) => `box run --rm -v nc${i}:/www:nocopy web true`],
      ['web -v new:/www (copied)', (i) => `box run --rm -v www${i}:/www web true`],
    ];
    for (const [start, cmd] of cases) {
      const runs: { instructions: number; wallMs: number }[] = [];
      for (let i = 0; i < 3; i++) {
        const i0 = host.m.instructions();
        const t0 = performance.now();
        const r = await sh(`${cmd(i)} 2>&1`);
        expect(r.code, `${cmd(i)} said ${r.out}`).toBe(0);
        runs.push({ instructions: host.m.instructions() - i0, wallMs: Math.round(performance.now() - t0) });
      }
      runs.sort((a, b) => a.instructions - b.instructions);
      rows.push({ start, ...runs[1]! });
    }
    console.table(rows);
    expect((await sh('ls /var/lib/box/volumes/cp0/_data | wc -l')).out.trim()).not.toBe('0');
  }, 300_000);

  it("--mount type=volume and type=bind, with Docker's aliases; a --mount bind source is never made", async () => {
    expect((await sh(`box run --rm --mount type=volume,source=mvol,target=/m busybox sh -c 'echo m > /m/f'`)).code).toBe(0);
    expect((await sh('cat /var/lib/box/volumes/mvol/_data/f')).out).toBe('m\n');
    await sh('mkdir -p /tmp/share && echo from-host > /tmp/share/in');
    const b = await sh(`box run --rm --mount type=bind,src=/tmp/share,dst=/s,readonly busybox sh -c 'cat /s/in; touch /s/x' 2>&1`);
    expect(b.out).toMatch(/^from-host$/m);
    expect(b.out).toMatch(/Read-only file system/);
    const missing = await sh(`box run --rm --mount type=bind,source=/tmp/not-there,target=/x busybox true 2>&1`);
    expect(missing.code).toBe(125);
    expect(missing.out.trim()).toBe('box: Error response from daemon: invalid mount config for type "bind": bind source path does not exist: /tmp/not-there');
    expect((await sh('test -e /tmp/not-there')).code).not.toBe(0);
  }, 120_000);

  it.each([
    { mount: 'type=bind,source=/tmp/share', says: 'invalid argument "type=bind,source=/tmp/share" for "--mount" flag: target is required' },
    { mount: 'type=foo,target=/x', says: 'Error response from daemon: invalid mount config for type "foo": mount type unknown' },
    {
      mount: 'type=volume,src=v,dst=/x,color=red',
      says: `invalid argument "type=volume,src=v,dst=/x,color=red" for "--mount" flag: unexpected key 'color' in 'color=red'`,
    },
    {
      mount: 'type=volume,target=/x,readonly',
      says: 'Error response from daemon: invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes',
    },
    {
      mount: 'type=bind,src=tmp/share,dst=/x',
      says: `Error response from daemon: invalid mount config for type "bind": invalid mount path: 'tmp/share' mount path must be absolute`,
    },
    { mount: 'type=tmpfs,src=/tmp,dst=/x', says: 'Error response from daemon: invalid mount config for type "tmpfs": field Source must not be specified' },
    {
      mount: 'type=tmpfs,dst=/x,tmpfs-size=lots',
      says: 'invalid argument "type=tmpfs,dst=/x,tmpfs-size=lots" for "--mount" flag: invalid value for tmpfs-size: lots',
    },
  ])('--mount $mount is refused with one line and 125', async ({ mount, says }) => {
    const r = await sh(`box run --mount '${mount}' busybox true 2>&1`);
    expect(r.code).toBe(125);
    expect(r.out.trim().split('\n')).toHaveLength(1);
    expect(r.out).toContain(says);
  });

  it('--mount type=tmpfs and --tmpfs: a new tmpfs with its size and mode, noexec nosuid nodev unless asked, gone with the container', async () => {
    const t = await sh(
      `box run --rm --mount type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770 busybox sh -c 'grep " /t " /proc/mounts; stat -c %a /t; dd if=/dev/zero of=/t/f bs=1k count=2048 2>&1 | grep -o "No space left on device"; ls -l /t/f | tr -s " " | cut -d" " -f5' 2>&1`,
    );
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/^tmpfs \/t tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k,mode=1770 0 0$/m);
    expect(t.out).toMatch(/^1770\nNo space left on device\n1048576$/m); // the size holds: 1 MiB and no more
    // --tmpfs PATH:OPTIONS: the kernel's options as given; exec lifts noexec.
    const x = await sh(
      `box run --rm --tmpfs '/run/x:exec,size=64k' busybox sh -c 'grep " /run/x " /proc/mounts; cp /bin/busybox /run/x/ 2>&1; echo sized' 2>&1`,
    );
    expect(x.code).toBe(0);
    expect(x.out).toMatch(/^tmpfs \/run\/x tmpfs rw,nosuid,nodev,relatime,size=64k 0 0$/m);
    expect(x.out).toMatch(/No space left on device/); // busybox is larger than 64 KiB
    const ro = await sh(`box run --rm --tmpfs /r:ro busybox sh -c 'touch /r/f' 2>&1`);
    expect(ro.out).toMatch(/Read-only file system/);
    const i = await sh(`box run -d --name tmpfs1 --tmpfs /scratch busybox sleep 100000 >/dev/null; box inspect tmpfs1; box rm -f tmpfs1 >/dev/null`);
    expect(i.out).toMatch(/"Type": "tmpfs", "Source": "", "Destination": "\/scratch", "Mode": "", "RW": true, "Propagation": ""/);
    const bad = await sh(`box run --tmpfs run busybox true 2>&1`);
    expect(bad.code).toBe(125);
    expect(bad.out.trim()).toBe("box: Error response from daemon: invalid mount path: 'run' mount path must be absolute");
    const badOpt = await sh(`box run --rm --tmpfs /x:size=lots busybox true 2>&1`);
    expect(badOpt.code).toBe(125);
    expect(badOpt.out.trim()).toMatch(/^box: Error response from daemon: error mounting "tmpfs" to rootfs at "\/x": tmpfs option size=lots: Invalid argument$/);
  }, 120_000);

  it('a Dockerfile VOLUME: recorded in the image config; box run makes an anonymous volume there, filled from the image; -v on it replaces it; --rm takes it', async () => {
    const ctx = '/tmp/volctx';
    await sh(
      `rm -rf ${ctx}; mkdir -p ${ctx} && printf 'FROM busybox\nRUN mkdir -p /data && echo from-image > /data/seed\nVOLUME ["/data"]\nVOLUME logs\n' > ${ctx}/Dockerfile`,
    );
    const b = await sh(`box build -t volimg ${ctx} 2>&1`, 300_000);
    expect(b.code, b.out).toBe(0);
    // The config as Docker writes it: "Volumes": {"/data": {}, "logs": {}} (the keys as written).
    expect((await sh(`box save volimg -o /tmp/volimg.tar && tar -xOf /tmp/volimg.tar | grep -c '"Volumes":{"/data":{},"logs":{}}'`)).out.trim()).toBe('1');
    const before = (await sh('box volume ls -q | wc -l')).out.trim();
    const r = await sh(`box run -d --name volc volimg sh -c 'cat /data/seed; echo more > /data/more; sleep 100000'`);
    expect(r.code).toBe(0);
    const inspect = (await sh('box inspect volc')).out;
    const data = /"Type": "volume", "Name": "([0-9a-f]{64})", "Source": "[^"]+", "Destination": "\/data"/.exec(inspect);
    const logs = /"Type": "volume", "Name": "([0-9a-f]{64})", "Source": "[^"]+", "Destination": "\/logs"/.exec(inspect);
    expect(data, inspect).not.toBeNull();
    expect(logs, inspect).not.toBeNull();
    expect((await sh(`cat /var/lib/box/volumes/${data![1]}/_data/seed /var/lib/box/volumes/${data![1]}/_data/more`)).out).toBe('from-image\nmore\n');
    expect(Number((await sh('box volume ls -q | wc -l')).out.trim())).toBe(Number(before) + 2);
    await sh('box rm -f volc >/dev/null');
    // A -v on the VOLUME's path replaces it: no anonymous volume there.
    const named = await sh(`box run --rm -v volnamed:/data volimg sh -c 'cat /data/seed; grep -c " /logs " /proc/mounts'`);
    expect(named.out).toBe('from-image\n1\n');
    // --rm takes the anonymous ones along; box rm (above) leaves them, as Docker.
    const n1 = (await sh('box volume ls -q | wc -l')).out.trim();
    expect((await sh(`box run --rm volimg true`)).code).toBe(0);
    expect((await sh('box volume ls -q | wc -l')).out.trim()).toBe(n1);
  }, 360_000);

  it("a build's RUN after a VOLUME writes into its layer (BuildKit's rule), also FROM such an image, and the build leaves no volume or container", async () => {
    const ctx = '/tmp/volrunctx';
    await sh(
      `rm -rf ${ctx}; mkdir -p ${ctx}/from && printf 'FROM busybox\nRUN mkdir /data\nVOLUME /data\nRUN echo x > /data/y\nRUN cat /data/y > /data/z\n' > ${ctx}/Dockerfile && printf 'FROM volrun\nRUN echo w > /data/w\n' > ${ctx}/from/Dockerfile`,
    );
    // BuildKit makes no directory for a VOLUME (hence the mkdir); the classic builder's volume per
    // step would lose /data/y before the second RUN.
    const volumes = async () => (await sh('box volume ls -q | wc -l')).out.trim();
    const containers = async () => (await sh('box ps -a -q | wc -l')).out.trim();
    const [v0, c0] = [await volumes(), await containers()];
    const b = await sh(`box build --no-cache -t volrun ${ctx} 2>&1 && box build --no-cache -t volrun2 ${ctx}/from 2>&1`, 300_000);
    expect(b.code, b.out).toBe(0);
    expect(await volumes()).toBe(v0);
    expect(await containers()).toBe(c0);
    // The second RUN saw the first's file; the image's files fill the run's anonymous volume; --rm takes it.
    expect((await sh('box run --rm volrun2 cat /data/y /data/z /data/w')).out).toBe('x\nx\nw\n');
    expect(await volumes()).toBe(v0);
  }, 360_000);

  it("-v under /dev works (made while /dev is writable for that moment), /dev stays read-only; /proc is refused with runc's words", async () => {
    await sh('echo conf > /tmp/devconf');
    const d = await sh(
      `box run --rm -v devvol:/dev/data -v /tmp/devconf:/dev/conf busybox sh -c 'echo hi > /dev/data/f && cat /dev/data/f /dev/conf; touch /dev/zz' 2>&1`,
    );
    expect(d.out).toMatch(/^hi\nconf$/m);
    expect(d.out).toMatch(/Read-only file system/);
    for (const [flag, target, says] of [
      ['-v', '/tmp/share:/proc/sys/kernel', 'check proc-safety of /proc/sys/kernel mount: "/proc/sys/kernel" cannot be mounted because it is inside /proc'],
      ['-v', 'pv:/proc', 'check proc-safety of /proc mount: "/proc" cannot be mounted because it is not of type proc'],
      [
        '--mount',
        'type=bind,src=/tmp/share,dst=/proc/self',
        'check proc-safety of /proc/self mount: "/proc/self" cannot be mounted because it is inside /proc',
      ],
    ]) {
      const r = await sh(`box run ${flag} ${target} busybox true 2>&1`);
      expect(r.code, target).toBe(125);
      expect(r.out.trim(), target).toBe(`box: Error response from daemon: ${says}`);
    }
    // What the runtime mounted there (devpts' ptmx and ptys) is no image data: nothing is copied from it.
    expect((await sh(`box run --rm -v ptsvol:/dev/pts busybox ls -A /dev/pts | wc -l`)).out.trim()).toBe('0');
    expect((await sh('ls -A /var/lib/box/volumes/ptsvol/_data | wc -l')).out.trim()).toBe('0');
    // runc lets the files lxcfs emulates be covered.
    await sh('echo "MemTotal: 1 kB" > /tmp/meminfo');
    expect((await sh(`box run --rm -v /tmp/meminfo:/proc/meminfo:ro busybox cat /proc/meminfo`)).out).toBe('MemTotal: 1 kB\n');
    expect((await sh('box run --rm busybox echo still-serving')).out).toBe('still-serving\n');
    const { mux } = host;
    mux.send(T.RUN, 310, args('-v', 'x1:/proc', 'busybox', 'true'));
    const e = await mux.waitFrame((f) => f.channel === 310 && (f.type === T.STARTED || f.type === T.ERROR), 60_000, 'ERROR 310');
    expect(e.type).toBe(T.ERROR);
    expect(utf8.decode(e.payload.subarray(4))).toMatch(/cannot be mounted because it is not of type proc/);
  }, 180_000);

  it('a node made in a volume or a bind does not open in an unprivileged container (nodev: no devices cgroup here)', async () => {
    await sh('rm -rf /tmp/nodes && mkdir /tmp/nodes');
    for (const v of ['nodevol:/d', '/tmp/nodes:/d']) {
      const r = await sh(`box run --rm -v ${v} busybox sh -c 'mknod /d/n c 1 3 && echo x > /d/n; echo rc=$?' 2>&1`);
      expect(r.out, v).toMatch(/Permission denied/);
      expect(r.out, v).toMatch(/^rc=1$/m);
    }
    expect((await sh(`box run --rm --privileged -v nodevol:/d busybox sh -c 'echo x > /d/n; echo rc=$?'`)).out).toMatch(/^rc=0$/m);
  }, 120_000);

  it('a -v whose target is a file of the image is mounted on it as it is: the file is not copied up into the upper dir', async () => {
    await sh('echo host-hosts > /tmp/hosts-file');
    const r = await sh(`box run -d --name filebind -v /tmp/hosts-file:/etc/hosts busybox sleep 100000 >/dev/null; box exec filebind cat /etc/hosts`);
    expect(r.out).toBe('host-hosts\n');
    expect((await sh('ls /var/lib/box/run/filebind/upper/etc/hosts 2>&1')).out).toMatch(/No such file or directory/);
    await sh('box rm -f filebind >/dev/null');
  }, 120_000);

  it('a failed start leaves no anonymous volume; a named one it made stays, as after a failed docker run', async () => {
    const count = async () => Number((await sh('box volume ls -q | grep -cE "^[0-9a-f]{64}$"')).out.trim());
    const before = await count();
    const notFound = await sh(`box run -v /anonfail busybox /no/such/command 2>&1`);
    expect(notFound.code).toBe(127);
    expect(await count()).toBe(before);
    expect((await sh(`box run -d -v /anonfail2 busybox /no/such/command 2>&1`)).code).toBe(127);
    expect(await count()).toBe(before);
    expect((await sh(`box run -v namedfail:/x busybox /no/such/command`)).code).toBe(127);
    expect((await sh('box volume ls -q')).out).toMatch(/^namedfail$/m);
    // Refused before anything is made: the anonymous volume beside a missing --mount bind source.
    expect((await sh(`box run -v /anonfail3 --mount type=bind,src=/tmp/not-there,dst=/y busybox true`)).code).toBe(125);
    expect(await count()).toBe(before);
    expect((await sh('box run --rm busybox echo still-serving')).out).toBe('still-serving\n');
  }, 120_000);

  it("box load then box run at once: the loaded image's new layer is unpacked by a child, not in boxd's loop", async () => {
    // An image boxd has never seen, with a layer not unpacked: built, saved, then forgotten (index and layer dirs as before).
    await sh(`mkdir -p /root/fresh && echo fresh-layer > /root/fresh/f.txt && printf 'FROM busybox\\nCOPY f.txt /f.txt\\n' > /root/fresh/Dockerfile`);
    await sh('ls /var/lib/box/layers > /tmp/layers.before; cp /var/lib/box/oci/index.json /tmp/index.before');
    expect((await sh('box build -t fresh /root/fresh >/dev/null && box save fresh -o /tmp/fresh.tar', 240_000)).code).toBe(0);
    await sh('cp /tmp/index.before /var/lib/box/oci/index.json && box images >/dev/null');
    await sh('for l in $(ls /var/lib/box/layers | grep -vxF -f /tmp/layers.before); do rm -rf /var/lib/box/layers/$l; done');
    expect((await sh('box images | grep -c "^fresh"')).out.trim()).toBe('0');
    const logLines = Number((await sh('wc -l < /var/log/boxd.log')).out.trim());
    const r = await sh('box load -i /tmp/fresh.tar >/dev/null && box run --rm fresh cat /f.txt', 120_000);
    expect(r.out).toBe('fresh-layer\n');
    const log = (await sh(`tail -n +${logLines + 1} /var/log/boxd.log`)).out;
    expect(log).toMatch(/unpacking layer [0-9a-f]{12} in pid \d+$/m); // urgent (no "idle, nice 19"): the start waits for it
  }, 300_000);

  it("box volume prune: unused anonymous volumes only, -a for named ones too, docker/cli's words; it asks first without -f", async () => {
    await sh('box volume prune -f >/dev/null');
    const made = await sh(`box run --name pruned -v /pb busybox sh -c 'printf 12345 > /pb/f'; box inspect pruned | grep -o '"Name": "[0-9a-f]*"'`);
    const pb = /"Name": "([0-9a-f]{64})"/.exec(made.out)?.[1];
    expect(pb).toBeDefined();
    const kept = await sh(`box run --name keeper -v /pk busybox true; box inspect keeper | grep -o '"Name": "[0-9a-f]*"'`);
    const pk = /"Name": "([0-9a-f]{64})"/.exec(kept.out)?.[1];
    await sh('box rm pruned >/dev/null');
    // The prompt ends without a newline (as Docker's): the exit code goes on its own line after it.
    const no = await sh('echo n | box volume prune; echo " code=$?"');
    expect(no.out).toBe(
      'WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue? [y/N]  code=0\n',
    );
    expect((await sh('box volume ls -q')).out).toContain(pb!);
    const yes = await sh('echo y | box volume prune');
    expect(yes.code).toBe(0);
    expect(yes.out).toBe(
      `WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] Deleted Volumes:\n${pb}\n\nTotal reclaimed space: 5B\n`,
    );
    const left = (await sh('box volume ls -q')).out;
    expect(left).toContain(pk!); // keeper (exited) still uses it
    expect(left).toMatch(/^notes$/m); // named: not without -a
    const all = await sh('box volume prune -a -f');
    expect(all.out).toMatch(/^Deleted Volumes:\n([^\n]+\n)+\nTotal reclaimed space: [\d.]+[kMG]?B\n$/);
    expect(all.out).toMatch(/^notes$/m);
    expect(all.out).not.toContain(pk!);
    expect((await sh('box volume ls -q')).out.trim()).toBe(pk!);
    await sh('box rm keeper >/dev/null');
  }, 180_000);
});
