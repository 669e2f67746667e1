// box behaves like Docker on the inputs people hit (issue 11): signals reach the program, exit codes
// say who failed, every byte arrives whatever its value, the size or the reader's pace, and twelve
// containers asked for at once do not wait for each other. Each row is one input from a public bug
// report, run for real: the host's `box` CLI on its serial console, or the page's mux. And the run
// options Docker users reach for first (issue 13 item 2): -e, -w, --rm, --entrypoint.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { args, hostHasContainerImages, hostWithMux, Machine, MuxPort, shStatus, Terminal, utf8, text } from './harness.ts';
import { FrameType as T, MUX_MAX_PAYLOAD, type Frame } from '../../src/core/mux/frames.ts';

const u32 = (f: Frame, at = 0) => new DataView(f.payload.buffer, f.payload.byteOffset).getUint32(at, true);
const u64 = (f: Frame, at: number) => new DataView(f.payload.buffer, f.payload.byteOffset).getBigUint64(at, true);
const PHASE_EXEC = 6;

describe.skipIf(!hostHasContainerImages())('box behaves like Docker: signals, exit codes, every byte, concurrent starts', () => {
  let m: Machine;
  let mux: MuxPort;
  let channel = 200;

  /** A host shell command's output and its exit status (`box` writes to the serial console). */
  const sh = (cmd: string, timeoutMs = 60_000) => shStatus(m, cmd, timeoutMs);

  /** `box run -it busybox sh` over the mux, as the page starts a container. */
  async function startShell(): Promise<Terminal> {
    const ch = ++channel;
    const from = mux.frames.length;
    mux.send(T.RUN, ch, args('-it', 'busybox', 'sh'));
    const f = await mux.waitFrame((f) => f.channel === ch && (f.type === T.STARTED || f.type === T.ERROR), 60_000, `STARTED ${ch}`, from);
    if (f.type === T.ERROR) throw new Error(utf8.decode(f.payload.subarray(4)));
    const term = new Terminal(mux, ch);
    await term.run('true');
    return term;
  }

  beforeAll(async () => {
    ({ m, mux } = await hostWithMux());
    // A long-running container for exec.
    expect((await sh('box run -d --name keep busybox sleep 100000 >/dev/null')).code).toBe(0);
  }, 120_000);

  afterAll(async () => {
    mux?.close();
    await m?.stop();
  });

  // ------------------------------------------------------------------ item 5: signals
  it.each([
    ['run', 'box run busybox grep -E "^Sig(Blk|Ign)" /proc/self/status'],
    ['exec', 'box exec keep grep -E "^Sig(Blk|Ign)" /proc/self/status'],
  ])('%s: the process starts with no signal ignored or blocked', async (_, cmd) => {
    const { out, code } = await sh(cmd);
    expect(code).toBe(0);
    expect(out).toMatch(/^SigBlk:\s+0{16}\s*$/m);
    expect(out).toMatch(/^SigIgn:\s+0{16}\s*$/m);
  });

  it.each([
    { key: 'Ctrl-C', byte: '\x03', status: 130 },
    { key: 'Ctrl-\\', byte: '\x1c', status: 131 },
  ])(
    'page: $key stops the foreground job of an -it shell',
    async ({ byte, status }) => {
      const term = await startShell();
      const t0 = performance.now();
      mux.send(T.INPUT, term.channel, text.encode('sleep 30\n'));
      await new Promise((r) => setTimeout(r, 1000));
      mux.send(T.INPUT, term.channel, text.encode(byte));
      expect(await term.run('echo status=$?')).toMatch(new RegExp(`^status=${status}\\r?$`, 'm'));
      expect(performance.now() - t0).toBeLessThan(20_000); // not the whole 30 s
    },
    60_000,
  );

  it('page: Ctrl-Z stops the foreground job, and the shell has it as a stopped job', async () => {
    const term = await startShell();
    mux.send(T.INPUT, term.channel, text.encode('sleep 30\n'));
    await new Promise((r) => setTimeout(r, 1000));
    mux.send(T.INPUT, term.channel, text.encode('\x1a'));
    expect(await term.run('jobs')).toMatch(/Stopped\s+sleep 30/);
    await term.run('kill -9 %1');
  }, 60_000);

  it('host CLI: Ctrl-C in `box run -it` reaches the foreground job', async () => {
    const from = m.serial.length;
    m.type('box run -it --name cli-it busybox sh\n');
    try {
      // Its hostname is its id (12 hex digits): this line comes from the container's shell.
      m.type('echo "in"side-$(hostname)\n');
      await m.waitFor(/^inside-[0-9a-f]{12}\r?$/m, 30_000, 'container shell', from);
      const t0 = performance.now();
      m.type('sleep 30\n');
      await new Promise((r) => setTimeout(r, 1500));
      m.type('\x03');
      const at = m.serial.length;
      m.type('echo "st"atus=$?\n');
      await m.waitFor(/^status=130\r?$/m, 20_000, 'status after Ctrl-C', at);
      expect(performance.now() - t0).toBeLessThan(20_000);
    } finally {
      // Whatever happened, leave the host console at the host's shell for the tests that follow.
      await mux.cmd(++channel, 'rm', '-f', 'cli-it');
      m.type('\n');
      const back = m.serial.length;
      await m.run('true', 60_000).catch(() => {});
      expect(m.serial.length).toBeGreaterThan(back);
    }
  }, 90_000);

  // ------------------------------------------------------------------ item 2: exit codes
  it.each([
    { what: 'run: command not found', cmd: 'box run busybox nosuchcmd', code: 127, says: /executable file not found/ },
    { what: 'run: no such path', cmd: 'box run busybox /no/such/file', code: 127, says: /no such file/i },
    { what: 'run: a directory cannot be invoked', cmd: 'box run busybox /etc', code: 126, says: /permission denied/i },
    { what: 'run -d: command not found', cmd: 'box run -d busybox nosuchcmd', code: 127, says: /executable file not found/ },
    { what: 'run: the command fails', cmd: "box run busybox sh -c 'exit 3'", code: 3 },
    { what: 'run: the runtime fails (no such image)', cmd: 'box run no-such-image', code: 125, says: /Unable to find image/ },
    { what: 'exec: command not found', cmd: 'box exec keep nosuchcmd', code: 127, says: /executable file not found/ },
    { what: 'exec: a directory cannot be invoked', cmd: 'box exec keep /etc', code: 126 },
    { what: 'exec: the command fails', cmd: "box exec keep sh -c 'exit 5'", code: 5 },
    { what: 'exec: killed by SIGKILL', cmd: "box exec keep sh -c 'kill -9 $$'", code: 137 },
    { what: 'exec: no such container', cmd: 'box exec no-such-container true', code: 125 },
  ])('exit code: $what → $code', async ({ cmd, code, says }) => {
    const r = await sh(`${cmd} 2>&1`);
    expect(r.code).toBe(code);
    if (says) expect(r.out).toMatch(says);
  });

  it('exit code: run killed by SIGKILL (box stop -t 0) → 137', async () => {
    const r = await sh(
      '(box run --name k9 busybox sleep 600; echo "ru"n=$? > /tmp/k9) & until box ps | grep -q k9; do sleep 0.2; done; box stop -t 0 k9 >/dev/null; wait; cat /tmp/k9',
    );
    expect(r.out).toMatch(/^run=137\r?$/m);
  }, 60_000);

  // ------------------------------------------------------------------ item 4: every byte
  it('logs: NUL bytes come back (the reply is not cut at the first NUL)', async () => {
    // Attached with its output thrown away: returns once it has exited, and boxd logs it either way.
    await sh(`box run --name nul busybox sh -c 'printf "A\\000B\\n"; echo after' >/dev/null`);
    const r = await sh('box logs nul | od -An -c | tr -s " "');
    expect(r.out.replace(/\s+/g, ' ')).toContain('A \\0 B \\n a f t e r \\n');
  });

  it('logs: past the buffer the tail is kept and the drop is said on stderr', async () => {
    await sh("box run --name tail busybox sh -c 'yes | head -c 70000; echo LAST-LINE' >/dev/null", 120_000);
    expect((await sh('box logs tail 2>/dev/null | tail -c 12 | od -An -c | tr -s " "')).out.replace(/\s+/g, ' ')).toContain('y \\n L A S T - L I N E \\n');
    expect((await sh('box logs tail 2>/dev/null | wc -c')).out.trim()).toBe('65536');
    expect((await sh('box logs tail 2>&1 >/dev/null')).out).toMatch(/first 4474 bytes are no longer kept/);
  }, 60_000);

  // The RESULT frame holds 65532 bytes of text: at, below and above it, and at the log's own limit.
  it.each([65531, 65532, 65533, 65536, 65537])(
    'logs: %i bytes of NULs come back whole (or the last 65536, said)',
    async (n) => {
      const name = `log${n}`;
      await sh(`box run --name ${name} busybox head -c ${n} /dev/zero >/dev/null`);
      expect((await sh(`box logs ${name} 2>/dev/null | wc -c`)).out.trim()).toBe(String(Math.min(n, 65536)));
      const notes = (await sh(`box logs ${name} 2>&1 >/dev/null`)).out;
      if (n > 65536) expect(notes).toMatch(new RegExp(`first ${n - 65536} bytes are no longer kept`));
      else expect(notes.trim()).toBe('');
    },
    60_000,
  );

  it('a reply longer than one frame arrives whole (inspect of 300 names)', async () => {
    const r = await sh('box inspect $(for i in $(seq 300); do echo keep; done) | grep -c \'"Name": "keep"\'');
    expect(r.out.trim()).toBe('300');
  }, 60_000);

  it('the page gets a long reply whole too (OUTPUT frames, then RESULT)', async () => {
    const names = Array.from({ length: 300 }, () => 'keep');
    const from = mux.frames.length;
    const ch = ++channel;
    mux.send(T.CMD, ch, args('inspect', ...names));
    const done = await mux.waitFrame((f) => f.channel === ch && (f.type === T.RESULT || f.type === T.ERROR), 60_000, 'RESULT of inspect', from);
    expect(done.type).toBe(T.RESULT);
    const parts = mux.frames.slice(from).filter((f) => f.channel === ch && f.type === T.OUTPUT);
    expect(parts.length).toBeGreaterThan(1);
    const json = parts.map((f) => utf8.decode(f.payload)).join('') + utf8.decode(done.payload.subarray(4));
    expect(JSON.parse(json)).toHaveLength(300);
  }, 60_000);

  it('a reader that stalls gets every byte before the exit (seq 23000 | (sleep 8; wc -c))', async () => {
    const r = await sh('box run busybox seq 23000 | (sleep 8; wc -c)', 120_000);
    expect(r.out.trim()).toBe('126894');
  }, 120_000);

  // 65536 bytes go out on the first credit; the last 5000 wait in the pty while the writer has
  // already exited. The fault sent EXIT then and dropped them.
  it('page: with the credit held back, EXIT waits until every byte was delivered', async () => {
    const ch = ++channel;
    const from = mux.frames.length;
    mux.autoCredit = false;
    try {
      mux.send(T.RUN, ch, args('busybox', 'sh', '-c', 'head -c 70536 /dev/zero; echo EXITED > /dev/null'));
      await mux.waitFrame((f) => f.channel === ch && f.type === T.STARTED, 60_000, 'STARTED head', from);
      await new Promise((r) => setTimeout(r, 4000)); // head is long done; its output waits for credit
      expect(mux.bytes.get(ch)).toBe(65536);
      expect(mux.frames.slice(from).some((f) => f.channel === ch && f.type === T.EXIT)).toBe(false);
      mux.credit(ch, 1 << 20);
      const exit = await mux.waitFrame((f) => f.channel === ch && f.type === T.EXIT, 30_000, 'EXIT of head', from);
      expect(u32(exit)).toBe(0);
      expect(mux.bytes.get(ch)).toBe(70536);
      // EXIT is the last frame of the channel: nothing of its output after it.
      const own = mux.frames.slice(from).filter((f) => f.channel === ch);
      expect(own.at(-1)!.type).toBe(T.EXIT);
    } finally {
      mux.autoCredit = true;
    }
  }, 90_000);

  // Arguments: the RUN payload may be exactly one frame; one byte more is refused by name.
  it.each([
    { payload: MUX_MAX_PAYLOAD - 1, ok: true },
    { payload: MUX_MAX_PAYLOAD, ok: true },
  ])(
    'page: a RUN of $payload bytes of arguments runs',
    async ({ payload }) => {
      const ch = ++channel;
      const from = mux.frames.length;
      const head = ['busybox', 'true'];
      const fill = payload - head.reduce((n, a) => n + a.length + 1, 0) - 1;
      mux.send(T.RUN, ch, args(...head, 'x'.repeat(fill)));
      const f = await mux.waitFrame((f) => f.channel === ch && (f.type === T.EXIT || f.type === T.ERROR), 60_000, 'EXIT of the long RUN', from);
      expect(f.type).toBe(T.EXIT);
    },
    60_000,
  );

  it.each([
    { arg: 65522, code: 0 }, // busybox\0true\0 + 65522 + \0 = 65536: the frame's limit
    { arg: 65523, code: 125 },
    { arg: 100000, code: 125 }, // (the kernel itself refuses one argument over 128 KiB)
  ])(
    'host CLI: a run whose arguments make $arg bytes → $code',
    async ({ arg, code }) => {
      const r = await sh(`box run busybox true $(head -c ${arg} /dev/zero | tr "\\0" x) 2>&1`);
      expect(r.code).toBe(code);
      if (code) expect(r.out).toMatch(/arguments too long: \d+ bytes, at most 65536/);
    },
    60_000,
  );

  // INPUT a pty does not take waits in boxd up to 1 MiB per terminal; past that it is refused by name.
  it('page: input to a program that never reads: up to 1 MiB waits, past it ERROR names the limit', async () => {
    const ch = ++channel;
    const from = mux.frames.length;
    mux.send(T.RUN, ch, args('-i', 'busybox', 'sleep', '1000'));
    await mux.waitFrame((f) => f.channel === ch && f.type === T.STARTED, 60_000, 'STARTED sleep', from);
    const page = new Uint8Array(MUX_MAX_PAYLOAD).fill(0x61);
    const errorOn = () => mux.frames.slice(from).find((f) => f.channel === ch && f.type === T.ERROR);
    for (let i = 0; i < 15; i++) mux.send(T.INPUT, ch, page); // 983,040 bytes: below the limit
    mux.send(T.STATS, ch);
    await mux.waitFrame((f) => f.channel === ch && f.type === T.STATS_REPLY, 60_000, 'STATS after 15 pages', from);
    expect(errorOn()).toBeUndefined();
    for (let i = 0; i < 3; i++) mux.send(T.INPUT, ch, page); // 1,179,648: above it, whatever the pty took (< 128 KiB)
    const err = await mux.waitFrame((f) => f.channel === ch && f.type === T.ERROR, 60_000, 'ERROR past 1 MiB', from);
    expect(utf8.decode(err.payload.subarray(4))).toMatch(/input backlog over 1 MiB, input dropped/);
    mux.send(T.REMOVE, ch);
    await mux.waitFrame((f) => f.channel === ch && f.type === T.EXIT, 60_000, 'EXIT of sleep', from);
  }, 120_000);

  it('more than 256 arguments are fine (CMD and EXEC)', async () => {
    expect((await sh("box exec keep sh -c 'echo $#' sh $(seq 1000) 2>&1")).out).toMatch(/^1000\r?$/m);
  });

  // ------------------------------------------------------------------ items 1 and 3: options, limits
  // Through the real CLI and boxd; every form of every verb is in images/agent/tests/test_verbs.c.
  it.each([
    { form: 'stop --time 1', cmd: 'box stop --time 1 o1' },
    { form: 'stop --timeout=1', cmd: 'box stop --timeout=1 o1' },
    { form: 'stop -t1', cmd: 'box stop -t1 o1' },
    { form: 'stop o1 -t 1 (flag after the name)', cmd: 'box stop o1 -t 1' },
  ])(
    'options: `$form` stops the container',
    async ({ cmd }) => {
      expect((await sh('box run -d --name o1 busybox sleep 600 >/dev/null')).code).toBe(0);
      const r = await sh(`${cmd} 2>&1`, 60_000);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^o1$/m);
      expect((await sh('box ps -aq --all | wc -l; box rm --force o1')).code).toBe(0);
    },
    90_000,
  );

  it.each([
    { cmd: 'box stop --bogus o1', says: 'unknown flag: --bogus' },
    { cmd: 'box rm -fz o1', says: "unknown shorthand flag: 'z' in -fz" },
    { cmd: 'box exec -u root keep true', says: "unknown shorthand flag: 'u' in -u" },
    { cmd: 'box run --restart always busybox true', says: 'unknown flag: --restart' }, // --rm is known since issue 13
  ])('options: `$cmd` is refused in one line naming it (125)', async ({ cmd, says }) => {
    const r = await sh(`${cmd} 2>&1`);
    expect(r.code).toBe(125);
    expect(r.out.trim().split('\n')).toHaveLength(1);
    expect(r.out).toContain(says);
  });

  it('limits: --pids-limit=-1 is unlimited (pids.max is max)', async () => {
    const r = await sh('box run --pids-limit=-1 busybox cat /sys/fs/cgroup/pids.max');
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe('max');
  });

  it('limits: --cpus above the CPU count is refused, naming the range', async () => {
    const n = Number((await sh('grep -c ^processor /proc/cpuinfo')).out.trim());
    const r = await sh('box run --cpus 64 busybox true 2>&1');
    expect(r.code).toBe(125);
    expect(r.out).toContain(`Range of CPUs is from 0.01 to ${n}.00, as there are only ${n} CPUs available`);
    expect((await sh(`box run --cpus ${n} busybox cat /sys/fs/cgroup/cpu.max`)).out.trim()).toBe(`${n * 100000} 100000`);
  });

  // ------------------------------------------------------------------ item 8: the harness itself
  it('harness: a command printing 100 KB is matched once, not once per byte', async () => {
    const before = m.scannedChars;
    const from = m.serial.length;
    const out = await m.run('seq 20000', 120_000);
    expect(out.trim().split(/\r?\n/).at(-1)).toBe('20000');
    const printed = m.serial.length - from;
    expect(printed).toBeGreaterThan(100_000);
    // Each byte is matched within its line and the one before (~10 characters here); rescanning
    // all of the command's output on every byte would be ~50,000 per byte.
    expect(m.scannedChars - before).toBeLessThan(40 * printed);
  }, 120_000);

  // ------------------------------------------------------------------ issue 10: concurrent starts
  it('twelve containers asked for at once: the first prompt is not held back by the other starts', async () => {
    await new Promise((r) => setTimeout(r, 3000)); // idle: boxd prepares namespaces, as before a race
    const from = mux.frames.length;
    const chans = Array.from({ length: 12 }, () => ++channel);
    for (const ch of chans) mux.send(T.RUN, ch, args('-it', 'busybox', 'sh'));
    const started: Frame[] = [];
    const first: Frame[] = [];
    for (const ch of chans) {
      started.push(await mux.waitFrame((f) => f.channel === ch && (f.type === T.STARTED || f.type === T.ERROR), 120_000, `STARTED ${ch}`, from));
      first.push(await mux.waitFrame((f) => f.channel === ch && f.type === T.FIRST_OUTPUT, 120_000, `FIRST_OUTPUT ${ch}`, from));
    }
    expect(started.every((f) => f.type === T.STARTED)).toBe(true);
    const received = started.map((f) => u64(f, 8));
    const exec = started.map((f) => u64(f, 8 + 8 * PHASE_EXEC));
    const prompt = first.map((f) => u64(f, 0));
    const t0 = received.reduce((a, b) => (a < b ? a : b));
    const ms = (ns: bigint) => Number(ns - t0) / 1e6;
    const prompts = prompt.map(ms).sort((a, b) => a - b);
    console.log(
      `12 at once (guest clock from the first request): first prompt ${prompts[0]!.toFixed(0)} ms, last ${prompts.at(-1)!.toFixed(0)} ms; last exec ${Math.max(...exec.map(ms)).toFixed(0)} ms`,
    );
    // Held back (the fault): every prompt came after the last container's exec. Now the first
    // container's prompt is read while the others are still starting.
    const lastExec = exec.reduce((a, b) => (a > b ? a : b));
    expect(prompt[0]! < lastExec).toBe(true);
    // And it reached the host before the last STARTED did.
    const idx = (f: Frame) => mux.frames.indexOf(f);
    expect(idx(first[0]!)).toBeLessThan(Math.max(...started.map(idx)));
    for (const ch of chans) mux.send(T.REMOVE, ch);
  }, 240_000);

  // ------------------------------------------------------------------ issue 13 item 2: run options
  // -e, -w, --rm and --entrypoint take effect in a real container; their common mistakes get
  // Docker's words and 125.
  /** What of a container is left on the host: its `ps -a` row, its directory, its cgroup. */
  async function leftOf(name: string): Promise<string> {
    const r = await sh(`box ps -a | grep -w ${name}; ls /var/lib/box/run /sys/fs/cgroup/box | grep -x ${name}; true`);
    return r.out.trim();
  }

  it('-e sets variables in order, replacing the same name from the image or an earlier -e', async () => {
    const r = await sh(
      `box run -e GREETING=hi -e 'TWO=a b' --env GREETING=hello -e PATH=/bin:/sbin busybox sh -c 'echo "$GREETING|$TWO|$PATH"; env | grep -c ^GREETING='`,
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^hello\|a b\|\/bin:\/sbin\n1$/m);
  });

  it.each([
    { cmd: 'box run -e HOME busybox true', says: /invalid environment variable: HOME/ },
    { cmd: 'box run -e =1 busybox true', says: /invalid environment variable: =1/ },
    { cmd: 'box run -w srv busybox true', says: /the working directory 'srv' is invalid, it needs to be an absolute path/ },
    { cmd: "box run --entrypoint '' busybox", says: /No command specified/ },
  ])('refused with one line and 125: $cmd', async ({ cmd, says }) => {
    const r = await sh(`${cmd} 2>&1`);
    expect(r.code).toBe(125);
    expect(r.out).toMatch(says);
    expect(r.out.trim().split('\n')).toHaveLength(1);
  });

  it('-w starts the command there, making the directory when the image has none', async () => {
    const r = await sh(`box run -w /srv/app busybox sh -c 'pwd; ls -ld . | cut -c1'`);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^\/srv\/app\nd$/m);
    const i = await sh(
      `box run -d --name wd -w /tmp busybox sleep 1000 >/dev/null; box inspect wd | grep -o '"WorkingDir": "[^"]*"'; box exec wd pwd; box rm -f wd >/dev/null`,
    );
    expect(i.out).toMatch(/^"WorkingDir": "\/tmp"\n\/tmp$/m); // box exec starts there too, as docker exec does
  });

  it('--entrypoint replaces the command; the arguments follow it', async () => {
    const r = await sh(`box run --entrypoint echo busybox hello there`);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^hello there$/m);
    const empty = await sh(`box run --entrypoint= busybox echo only args`);
    expect(empty.out).toMatch(/^only args$/m);
  });

  it('--rm: nothing is left once the command has exited, and its exit code comes back', async () => {
    const r = await sh(`box run --rm --name gone busybox sh -c 'echo bye; exit 3'`);
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/^bye$/m);
    expect(await leftOf('gone')).toBe('');
    // Without --rm the same container stays (what the check above would see).
    await sh(`box run --name kept busybox true`);
    expect(await leftOf('kept')).toMatch(/kept/);
    await sh('box rm kept >/dev/null');
  });

  it('--rm with -d: removed once it exits; inspect says AutoRemove', async () => {
    const r = await sh(`box run -d --rm --name gone2 busybox sleep 2 >/dev/null; box inspect gone2 | grep -o '"AutoRemove": [a-z]*'`);
    expect(r.out).toMatch(/"AutoRemove": true/);
    let left = await leftOf('gone2');
    for (let i = 0; i < 20 && left; i++) {
      await new Promise((ok) => setTimeout(ok, 1000));
      left = await leftOf('gone2');
    }
    expect(left).toBe('');
  }, 90_000);
});
