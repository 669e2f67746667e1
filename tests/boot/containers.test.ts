// Containers for real (issue 3's proof): boot the container host in v86, start containers
// over the box mux on virtio-console port 1, and check from inside and outside that they
// are namespaced processes of one kernel, with cgroup limits, a bridge, and layers shared.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { args, hostHasContainerImages, hostWithMux, Machine, MuxPort, Terminal, utf8, text } from './harness.ts';
import { MARKERS } from '../../src/core/markers.ts';
import { encodeFrame, FrameType as T, type Frame } from '../../src/core/mux/frames.ts';

// ---------------------------------------------------------------- the test

const phases = (f: Frame) => {
  const v = new DataView(f.payload.buffer, f.payload.byteOffset);
  const n = v.getUint32(4, true);
  return { pid: v.getUint32(0, true), ns: Array.from({ length: n }, (_, i) => v.getBigUint64(8 + 8 * i, true)) };
};

describe.skipIf(!hostHasContainerImages())('containers on one kernel: box over the mux in v86', () => {
  let m: Machine;
  let mux: MuxPort;
  const term: Record<string, Terminal> = {};
  const started: Record<string, Frame> = {};

  async function start(name: string, channel: number, ...flags: string[]) {
    const from = mux.frames.length;
    mux.send(T.RUN, channel, args('-it', '--name', name, '--hostname', `host-${name}`, ...flags, 'busybox', 'sh'));
    const f = await mux.waitFrame((f) => f.channel === channel && (f.type === T.STARTED || f.type === T.ERROR), 60_000, `STARTED ${name}`, from);
    if (f.type === T.ERROR) throw new Error(`RUN ${name}: ${utf8.decode(f.payload.subarray(4))}`);
    started[name] = f;
    term[name] = new Terminal(mux, channel);
    await mux.waitFrame((f) => f.channel === channel && f.type === T.FIRST_OUTPUT, 30_000, `FIRST_OUTPUT ${name}`, from);
    await term[name].run('true'); // the shell reads input
  }

  const hostAnswers = async () => expect(await m.run('echo host-$((40+2))', 60_000)).toMatch(/^host-42$/m);

  beforeAll(async () => {
    ({ m, mux } = await hostWithMux());
  }, 120_000);

  afterAll(async () => {
    mux?.close();
    await m?.stop();
  });

  it('boxd answers HELLO with READY', async () => {
    mux.send(T.HELLO, 0);
    const f = await mux.waitFrame((f) => f.type === T.READY, 20_000, 'READY');
    expect(utf8.decode(f.payload.subarray(8))).toMatch(/^box /);
  });

  it('the mux is a generic virtio port (/dev/vport0p1), not the hvc tty v86 would make it', async () => {
    // v86 announces every port as a console; the host side withholds that for port 1
    // (withholdConsolePort), so boxd reads page-sized buffers instead of hvc's 16-byte pieces.
    expect(await m.run('grep "serving the mux" /var/log/boxd.log')).toMatch(/serving the mux on \/dev\/vport0p1 \(virtio-1\)/);
    expect(mux.errors).toEqual([]); // no echoed HELLOs: a generic port drops input until boxd opens it
  });

  it('starts three containers over the mux, with start phases and first output', async () => {
    await start('c1', 1);
    await start('c2', 2, '--memory', '12m');
    await start('c3', 3, '--pids', '12');
    for (const name of ['c1', 'c2', 'c3']) {
      const { pid, ns } = phases(started[name]);
      expect(pid).toBeGreaterThan(1);
      expect(ns).toHaveLength(7); // received, layers, namespaces, mounts, cgroup, network, exec
      for (let i = 1; i < ns.length; i++) expect(ns[i] >= ns[i - 1], `${name} phase ${i} in order`).toBe(true);
    }
  }, 200_000);

  it("each container's PID 1 is its command", async () => {
    for (const name of ['c1', 'c2', 'c3']) {
      // $$ of the shell is 1, and PID 1's command line is that shell's.
      expect(await term[name].run('echo pid=$$ cmd=$(tr "\\0" " " </proc/1/cmdline)')).toMatch(/^pid=1 cmd=sh\s*$/m);
    }
  });

  // The busybox image's shell is interactive (-it): it ignores SIGTERM, and a child it forks keeps
  // that until it sets its own; the kernel discards a signal sent to a process that ignores it. With
  // Debian's busybox-static a `kill $!` typed right after `&` was lost whenever the shell ran before
  // its child (here about 1 time in 3). The image's busybox is now built with images/busybox/patches
  // (ash-fork-signals.patch), as the guests' is. Unfixed: discarded=3 to 8 of 15.
  it("a job killed right after & in a container's shell dies: the image's ash holds signals across fork", async () => {
    expect(await term.c1.run('sleep 3 & kill $!; wait $!; echo status=$?')).toMatch(/^status=143\s*$/m);
    // SIGTERM is bit 15 (0x4000) of SigIgn and SigBlk in /proc/PID/status: ignored and not blocked,
    // a SIGTERM sent at that moment would be thrown away. Builtins only, so the shell does not yield.
    const check =
      'n=0; for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do sleep 5 & p=$!; ' +
      'while read -r k v; do case $k in SigIgn:) ign=$v;; SigBlk:) blk=$v;; esac; done </proc/$p/status; ' +
      'kill -KILL $p; wait $p 2>/dev/null; n=$((n + ((0x$ign & ~0x$blk & 0x4000) != 0))); done; echo discarded=$n';
    expect(await term.c1.run(check, 60_000)).toMatch(/^discarded=0\s*$/m);
  });

  it('hostnames differ; uname -r is the host kernel in all of them', async () => {
    const hostKernel = (await m.run('uname -r')).trim();
    expect(hostKernel).toMatch(/^6\.12\./);
    const names = new Set<string>();
    for (const name of ['c1', 'c2', 'c3']) {
      const out = await term[name].run('hostname; uname -r');
      expect(out).toContain(hostKernel);
      names.add(out.split(/\r?\n/)[0]);
    }
    expect([...names].sort()).toEqual(['host-c1', 'host-c2', 'host-c3']);
  });

  it("a container sees neither the others' processes nor their files; the host sees all", async () => {
    await term.c2.run('echo secret > /tmp/only-in-c2; sh -c "read x" marker-of-c2 & true');
    const c1ps = await term.c1.run('ps; ls /tmp');
    expect(c1ps).not.toMatch(/marker-of-c2/);
    expect(c1ps).not.toMatch(/only-in-c2/);
    // The last line is the count (a slow echo can put the command line in front of it).
    expect((await term.c1.run('ps | wc -l')).trim().split(/\r?\n/).at(-1)).toMatch(/^[3-5]$/); // header, sh, ps, wc
    const hostPs = await m.run('ps');
    expect(hostPs).toMatch(/marker-of-c2/);
    const pidC2 = phases(started.c2).pid;
    expect(await m.run(`cat /proc/${pidC2}/root/tmp/only-in-c2`)).toMatch(/^secret$/m);
  });

  it('containers ping each other over box0', async () => {
    const info = JSON.parse((await mux.cmd(100, 'inspect', 'c2')).text);
    const ip = info[0].NetworkSettings.IPAddress;
    expect(ip).toMatch(/^10\.88\.\d+\.\d+$/);
    expect(await term.c1.run(`ping -c 1 -W 5 ${ip}`)).toMatch(/1 packets received/);
  });

  it('two containers of one image share layer storage', async () => {
    const info = JSON.parse((await mux.cmd(101, 'inspect', 'c1', 'c3')).text);
    expect(info[0].GraphDriver.Data.LowerDir).toBe(info[1].GraphDriver.Data.LowerDir);
    expect(info[0].GraphDriver.Data.UpperDir).not.toBe(info[1].GraphDriver.Data.UpperDir);
    const base = info[0].GraphDriver.Data.LowerDir.split(':').at(-1).split('/').at(-1);
    // The same inode: one unpacked copy of the base layer behind both overlays.
    const listing = await m.run('ls -i /var/lib/box/layers/*/bin/busybox');
    const hostIno = listing
      .split(/\r?\n/)
      .find((l) => l.includes(base))
      ?.trim()
      .split(/\s+/)[0];
    expect(hostIno).toMatch(/^\d+$/);
    for (const name of ['c1', 'c3']) {
      expect((await term[name].run('ls -i /bin/busybox')).trim().split(/\s+/)[0]).toBe(hostIno);
    }
  });

  it('EXEC runs a second process inside a container, on its own terminal', async () => {
    const from = mux.frames.length;
    const target = new Uint8Array(new Uint32Array([1]).buffer); // c1's terminal
    const payload = new Uint8Array([...target, ...args('sh', '-c', 'echo exec-in-$(hostname) ppid=$PPID')]);
    mux.send(T.EXEC, 20, payload);
    const exit = await mux.waitFrame((f) => f.channel === 20 && (f.type === T.EXIT || f.type === T.ERROR), 30_000, 'EXIT of the exec', from);
    expect(exit.type).toBe(T.EXIT);
    // Its parent is outside the container's PID namespace, so it reads as 0.
    expect(mux.output.get(20)).toMatch(/exec-in-host-c1 ppid=0/);
  });

  it('STATS reports each container from its cgroup', async () => {
    const from = mux.frames.length;
    mux.send(T.STATS, 0);
    for (const [name, channel] of [
      ['c1', 1],
      ['c2', 2],
      ['c3', 3],
    ] as const) {
      const f = await mux.waitFrame((f) => f.channel === channel && f.type === T.STATS_REPLY, 20_000, `STATS ${name}`, from);
      const v = new DataView(f.payload.buffer, f.payload.byteOffset);
      const memory = Number(v.getBigUint64(0, true));
      expect(memory, `${name} memory.current`).toBeGreaterThan(0);
      expect(memory, `${name} idle under 2 MB`).toBeLessThan(2 << 20);
      expect(v.getUint32(16, true), `${name} pids.current`).toBeGreaterThanOrEqual(1);
      expect(v.getUint32(20, true), `${name} PID 1`).toBe(phases(started[name]).pid);
    }
  });

  it('box diff lists a file written in the container', async () => {
    await term.c1.run('echo data > /root/written.txt');
    const diff = await mux.cmd(102, 'diff', 'c1');
    expect(diff.code).toBe(0);
    expect(diff.text).toMatch(/^A \/root\/written\.txt$/m);
  });

  it('--memory OOM-kills only the offender', async () => {
    const out = await term.c2.run('sh -c \'x=$(head -c 40000000 /dev/zero | tr "\\0" a); echo survived\'', 120_000);
    expect(out).not.toMatch(/survived/);
    const events = await m.run('cat /sys/fs/cgroup/box/c2/memory.events');
    expect(Number(/oom_kill (\d+)/.exec(events)?.[1])).toBeGreaterThan(0);
    expect(await term.c1.run('echo c1-alive')).toMatch(/^c1-alive/m);
    expect(await term.c2.run('echo c2-alive')).toMatch(/^c2-alive/m);
    await hostAnswers();
  }, 180_000);

  it('--pids stops a fork bomb while the host and the other containers keep answering', async () => {
    mux.send(T.INPUT, 3, text.encode('bomb() { bomb | bomb & }; bomb\n'));
    // Let it hit the limit, then check the limit held and everyone else answers.
    await new Promise((r) => setTimeout(r, 3000));
    const pids = Number((await m.run('cat /sys/fs/cgroup/box/c3/pids.current', 60_000)).trim());
    expect(pids).toBeLessThanOrEqual(12);
    expect(await m.run('cat /sys/fs/cgroup/box/c3/pids.events', 60_000)).toMatch(/max [1-9]/);
    expect(await term.c1.run('echo c1-alive', 60_000)).toMatch(/^c1-alive/m);
    await hostAnswers();
    const from = mux.frames.length;
    mux.send(T.REMOVE, 3);
    await mux.waitFrame((f) => f.channel === 3 && f.type === T.EXIT, 60_000, 'EXIT of the bomb container', from);
  }, 180_000);

  it('bad requests get ERROR and boxd keeps serving', async () => {
    const from = mux.frames.length;
    mux.send(T.RUN, 50, args('no-such-image'));
    mux.send(T.RUN, 1, args('busybox')); // channel in use
    mux.send(T.RUN, 51, args('--memory', 'lots', 'busybox'));
    mux.send(0x7e, 52);
    mux.sendRaw(new Uint8Array([0xb0, 0x58, 9, 0, 1, 2, 3]));
    for (const ch of [50, 1, 51, 52]) {
      await mux.waitFrame((f) => f.channel === ch && f.type === T.ERROR, 20_000, `ERROR on ${ch}`, from);
    }
    expect((await mux.cmd(103, 'ps')).text).toMatch(/\bc1\b/);
    expect(mux.errors).toEqual([]);
  });

  it('100,000 random frames from the page side: boxd keeps serving', async () => {
    // Random types (all but HELLO, which starts a new session), random unused channels, random
    // payloads; one frame in ten gets a flipped bit somewhere (bad magic, length or CRC) and a run of
    // garbage bytes, so the decoder has to resync. Seeded: a failure names its seed.
    const seed = Number(process.env.STACKLAB_FUZZ_SEED ?? Date.now() % 2 ** 31);
    let x = seed || 1;
    const rnd = (n: number) => ((x = (x * 48271) % 0x7fffffff), x % n);
    const parts: Uint8Array[] = [];
    for (let i = 0; i < 100_000; i++) {
      let type = rnd(256);
      if (type === T.HELLO) type = 0x7e;
      const payload = new Uint8Array(rnd(48));
      for (let j = 0; j < payload.length; j++) payload[j] = rnd(256);
      const f = encodeFrame(type, 1000 + rnd(100_000), payload);
      if (rnd(10) === 0) {
        f[rnd(f.length)] ^= 1 << rnd(8);
        parts.push(
          f,
          new Uint8Array(rnd(24)).map(() => rnd(256)),
        );
      } else parts.push(f);
    }
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) {
      all.set(p, off);
      off += p.length;
    }
    const from = mux.frames.length;
    const t0 = performance.now();
    for (let i = 0; i < all.length; i += 4096) mux.sendRaw(all.slice(i, i + 4096));
    // A flipped length bit near the end leaves boxd waiting for up to 64 KiB of a frame that never
    // comes (a truncated frame is not an error until more bytes prove it wrong, PROTOCOL.md): pad
    // past the longest frame, so its CRC fails and the decoder rescans, then ask.
    for (let i = 0; i < 16 + 65_536 + 4096; i += 4096) mux.sendRaw(new Uint8Array(4096));
    // Frames are handled in order: the answer to this CMD comes after all of them.
    mux.send(T.CMD, 104, args('ps'));
    const done = await mux.waitFrame((f) => f.channel === 104 && f.type === T.RESULT, 120_000, `RESULT after the random frames (seed ${seed})`, from);
    const ms = performance.now() - t0;
    const answered = mux.frames.length - from;
    console.log(`random frames (seed ${seed}): 100000 frames, ${all.length} bytes, ${answered} frames back, ${Math.round(ms)} ms`);
    expect(utf8.decode(done.payload.subarray(4))).toMatch(/\bc1\b/);
    expect(answered).toBeGreaterThan(1000); // boxd answered (ERROR) rather than went quiet
    expect(mux.errors).toEqual([]);
    expect(await term.c1.run('echo still-$((40+2))')).toMatch(/still-42/);
  }, 300_000);

  it("a default container cannot open host devices it makes (the host's serial console)", async () => {
    const from = m.serial.length;
    const out = await term.c1.run('mknod /tmp/ttyS0 c 4 64 && echo from-c1 > /tmp/ttyS0; mknod /dev/x c 4 64');
    expect(out).toMatch(/can't create \/tmp\/ttyS0: Permission denied/);
    expect(out).toMatch(/Read-only file system/);
    expect(m.serial.slice(from)).not.toMatch(/^from-c1/m);
  });

  it('a default container cannot crash the kernel via sysrq; a --privileged one can, taking everything down', async () => {
    expect(await term.c1.run('echo c > /proc/sysrq-trigger')).toMatch(/Read-only file system/);
    await hostAnswers();
    await start('priv', 9, '--privileged');
    // Privileged means the host's devices too: it writes on the host's serial console.
    const serialFrom = m.serial.length;
    await term.priv.run('mknod /tmp/ttyS0 c 4 64 && echo from-priv > /tmp/ttyS0');
    await m.waitFor(/^from-priv/m, 20_000, 'privileged write on ttyS0', serialFrom);
    const from = m.serial.length;
    mux.send(T.INPUT, 9, text.encode('echo c > /proc/sysrq-trigger\n'));
    await m.waitFor(MARKERS.panic, 60_000, 'kernel panic', from);
    // One kernel: the host shell and every container are gone with it.
    const frames = mux.frames.length;
    m.type('echo still-here\n');
    mux.send(T.INPUT, 1, text.encode('echo still-here\n'));
    mux.send(T.HELLO, 0);
    await new Promise((r) => setTimeout(r, 3000));
    expect(m.serial.slice(from)).not.toMatch(/^still-here/m);
    expect(mux.frames.slice(frames)).toHaveLength(0);
  }, 120_000);
});
