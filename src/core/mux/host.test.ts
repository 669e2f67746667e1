// MuxHost against a scripted guest: a transport that, like v86, only takes bytes into posted receive
// buffers of at most one page, and a tiny boxd stand-in that decodes requests and answers.
import { describe, it, expect } from 'vitest';
import { FrameType, MUX_LOAD_WINDOW } from './frames.ts';
import { MUX_ECANCELED, MuxLoadAbortedError, MuxRequestError } from './host.ts';
import { FakeGuest } from './fake-guest.ts';
import * as P from './payloads.ts';

/** Archive bytes the page sent in LOAD_DATA frames so far (each payload: u64 offset, then bytes). */
const loadDataBytes = (g: FakeGuest) => g.of(FrameType.LOAD_DATA).reduce((n, f) => n + f.payload.length - 8, 0);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 2000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(1);
  }
}

describe('MuxHost', () => {
  it('sends HELLO when the guest posts a buffer, not before, and resolves ready on READY', async () => {
    const g = new FakeGuest();
    await sleep(10);
    expect(g.frames).toHaveLength(0);
    expect(g.host.pending).toBe(16);
    expect(g.host.counters.retries).toBeGreaterThan(0);
    g.posted = 1;
    await until(() => g.frames.length === 1);
    expect(g.frames[0]).toMatchObject({ type: FrameType.HELLO, channel: 0 });
    g.say(FrameType.READY, 0, P.encodeReady({ readyNs: 5n, version: 'boxd test' }));
    await expect(g.host.ready).resolves.toEqual({ readyNs: 5n, version: 'boxd test' });
    expect(g.writesWithoutBuffer).toBe(0);
    g.host.close();
  });

  it('pushes what waits for a buffer as soon as the guest says something, not at the retry timer', async () => {
    const g = new FakeGuest({ retryMs: 60_000 });
    await sleep(5);
    expect(g.host.pending).toBe(16); // HELLO, and the retry is a minute away
    g.posted = 1;
    g.say(FrameType.READY, 0, P.encodeReady({ readyNs: 1n, version: 'v' })); // boxd read the port: buffers are back
    await until(() => g.frames.length === 1, 1000);
    expect(g.frames[0]).toMatchObject({ type: FrameType.HELLO });
    expect(g.writesWithoutBuffer).toBe(0);
    g.host.close();
  });

  it('repeats HELLO until READY', async () => {
    const g = new FakeGuest({ helloIntervalMs: 5 });
    g.posted = 1000;
    await until(() => g.of(FrameType.HELLO).length >= 3);
    g.say(FrameType.READY, 0, P.encodeReady({ readyNs: 1n, version: 'v' }));
    await g.host.ready;
    const n = g.of(FrameType.HELLO).length;
    await sleep(20);
    expect(g.of(FrameType.HELLO).length).toBe(n);
    g.host.close();
  });

  it('pushes at most 4096 bytes per posted buffer and a 64 KiB INPUT arrives intact', async () => {
    const g = new FakeGuest();
    const data = Uint8Array.from({ length: 65536 + 1000 }, (_, i) => (i * 7) & 0xff);
    g.host.input(5, data);
    for (let i = 0; i < 40 && g.host.pending > 0; i++) {
      g.posted = 1; // the guest posts one buffer at a time, slowly
      await sleep(2);
    }
    await until(() => g.host.pending === 0);
    expect(Math.max(...g.pushSizes)).toBe(4096);
    expect(g.writesWithoutBuffer).toBe(0);
    const inputs = g.of(FrameType.INPUT);
    expect(inputs.map((f) => f.payload.length)).toEqual([65536, 1000]);
    expect(Buffer.concat(inputs.map((f) => f.payload)).equals(Buffer.from(data))).toBe(true);
    expect(g.errors).toEqual([]);
    g.host.close();
  });

  it('never writes to the transport from inside send() (v86 handlers must not be re-entered)', async () => {
    const g = new FakeGuest();
    g.posted = 100;
    await until(() => g.frames.length === 1); // HELLO
    g.host.input(1, 'echo hi\n');
    expect(g.frames).toHaveLength(1);
    await until(() => g.frames.length === 2);
    expect(g.frames[1]).toMatchObject({ type: FrameType.INPUT, channel: 1 });
    g.host.close();
  });

  it('cmd resolves with RESULT, rejects on ERROR with its code, and times out', async () => {
    const g = new FakeGuest();
    g.posted = 1e6;
    g.answer = (f) => {
      if (f.type !== FrameType.CMD) return;
      const argv = P.decodeArgv(f.payload);
      if (argv[0] === 'ps') g.say(FrameType.RESULT, f.channel, P.encodeResult({ code: 0, text: 'NAME c1\n' }));
      else if (argv[0] === 'bogus') g.say(FrameType.ERROR, f.channel, P.encodeError({ code: 22, message: 'unknown verb bogus' }));
    };
    await expect(g.host.cmd(['ps'])).resolves.toEqual({ code: 0, text: 'NAME c1\n' });
    const err = await g.host.cmd(['bogus']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MuxRequestError);
    expect(err).toMatchObject({ code: 22, message: 'box bogus: unknown verb bogus' });
    await expect(g.host.cmd(['silent'], 20)).rejects.toThrow(/no reply in 20 ms/);
    // Each request had its own channel.
    expect(new Set(g.of(FrameType.CMD).map((f) => f.channel)).size).toBe(3);
    g.host.close();
  });

  it('cmd: a reply longer than one frame comes as OUTPUT frames then RESULT, and arrives whole', async () => {
    const g = new FakeGuest();
    g.posted = 1e6;
    const long = 'x'.repeat(65536) + 'y'.repeat(65536) + 'end\n';
    g.answer = (f) => {
      if (f.type !== FrameType.CMD) return;
      const bytes = new TextEncoder().encode(long);
      for (let at = 0; at < bytes.length; at += 65536) g.say(FrameType.OUTPUT, f.channel, bytes.subarray(at, at + 65536));
      g.say(FrameType.RESULT, f.channel, P.encodeResult({ code: 0, text: 'a note\n' }));
    };
    await expect(g.host.cmd(['logs', 'c1'])).resolves.toEqual({ code: 0, text: long, stderr: 'a note\n' });
    g.host.close();
  });

  it('cmdBytes: an answer of any bytes arrives untouched (streamed or in RESULT), with progress; a failure gives its notes', async () => {
    const g = new FakeGuest();
    g.posted = 1e6;
    // Not UTF-8: a text decode would turn these into U+FFFD and change the length.
    const archive = Uint8Array.from({ length: 3 * 65536 + 17 }, (_, i) => (i * 131 + 7) & 0xff);
    const small = Uint8Array.of(0xff, 0x00, 0xfe, 0x80);
    g.answer = (f) => {
      if (f.type !== FrameType.CMD) return;
      const [verb, image] = P.decodeArgv(f.payload);
      if (verb !== 'save') return;
      if (image === 'big') {
        for (let at = 0; at < archive.length; at += 65536) g.say(FrameType.OUTPUT, f.channel, archive.subarray(at, at + 65536));
        g.say(FrameType.RESULT, f.channel, P.encodeResult({ code: 0, text: '' }));
      } else if (image === 'small') {
        const payload = new Uint8Array(4 + small.length);
        payload.set(small, 4);
        g.say(FrameType.RESULT, f.channel, payload);
      } else g.say(FrameType.RESULT, f.channel, P.encodeResult({ code: 1, text: `box save: no such image: ${image}\n` }));
    };
    const progress: number[] = [];
    const big = await g.host.cmdBytes(['save', 'big'], 2000, (n) => progress.push(n));
    expect(big.code).toBe(0);
    expect(big.bytes).toEqual(archive);
    expect(progress).toEqual([65536, 131072, 196608, archive.length]);
    await expect(g.host.cmdBytes(['save', 'small'])).resolves.toEqual({ code: 0, bytes: small, stderr: '' });
    await expect(g.host.cmdBytes(['save', 'nope'])).resolves.toEqual({ code: 1, bytes: new Uint8Array(0), stderr: 'box save: no such image: nope\n' });
    await expect(g.host.cmdBytes(['silent'], 20)).rejects.toThrow(/no reply in 20 ms/);
    g.host.close();
  });

  it('run: STARTED with named phases, output to the listener, exit; ERROR rejects and frees the channel', async () => {
    const g = new FakeGuest();
    g.posted = 1e6;
    const phases = P.START_PHASES.map((name, i) => ({ name, ns: 1000n + BigInt(i) * 1_000_000n }));
    g.answer = (f) => {
      if (f.type !== FrameType.RUN) return;
      const argv = P.decodeArgv(f.payload);
      if (argv.includes('nope')) return g.say(FrameType.ERROR, f.channel, P.encodeError({ code: 2, message: 'no such image: nope' }));
      g.say(FrameType.STARTED, f.channel, P.encodeStarted({ pid: 77, phases }));
      g.say(FrameType.FIRST_OUTPUT, f.channel, P.encodeU64(7_000_000n));
      g.say(FrameType.OUTPUT, f.channel, new TextEncoder().encode('/ # '));
      g.say(FrameType.EXIT, f.channel, P.encodeI32(1 << 8));
    };
    const out: string[] = [];
    let exit: P.ExitStatus | null = null;
    let first = 0n;
    const h = g.host.run(['busybox', 'sh'], {
      output: (b) => out.push(new TextDecoder().decode(b)),
      exit: (s) => (exit = s),
      firstOutput: (ns) => (first = ns),
    });
    const s = await h.started;
    expect(s.pid).toBe(77);
    expect(
      P.phaseOffsetsMs(s)
        .map((p) => `${p.name}=${p.ms}`)
        .join(' '),
    ).toBe('received=0 layers=1 namespaces=2 mounts=3 cgroup=4 network=5 exec=6');
    await until(() => exit !== null);
    expect(out.join('')).toBe('/ # ');
    expect(first).toBe(7_000_000n);
    expect(exit).toMatchObject({ code: 1 });
    const bad = g.host.run(['nope']);
    await expect(bad.started).rejects.toMatchObject({ code: 2, channel: bad.channel });
    expect(bad.channel).not.toBe(h.channel);
    g.host.close();
  });

  it('output credit: 65536 per terminal, returned as CREDIT when the consumer acknowledges', async () => {
    const g = new FakeGuest();
    g.posted = 1e6;
    const h = g.host.run(['sh']);
    h.started.catch(() => {});
    await until(() => g.of(FrameType.RUN).length === 1);
    expect(g.host.guestCredit(h.channel)).toBe(65536);
    for (let i = 0; i < 16; i++) g.say(FrameType.OUTPUT, h.channel, new Uint8Array(4096));
    expect(g.host.guestCredit(h.channel)).toBe(0);
    g.host.ack(h.channel, 1000); // below the batch: nothing yet, bytes still unacknowledged
    await sleep(5);
    expect(g.of(FrameType.CREDIT)).toHaveLength(0);
    g.host.ack(h.channel, 5000);
    await until(() => g.of(FrameType.CREDIT).length === 1);
    expect(P.decodeU32(g.of(FrameType.CREDIT)[0]!.payload)).toBe(6000);
    g.host.ack(h.channel, 1e9); // acknowledging more than arrived is clamped
    await until(() => g.of(FrameType.CREDIT).length === 2);
    expect(P.decodeU32(g.of(FrameType.CREDIT)[1]!.payload)).toBe(65536 - 6000);
    expect(g.host.guestCredit(h.channel)).toBe(65536);
    expect(g.of(FrameType.CREDIT).every((f) => f.channel === h.channel)).toBe(true);
    g.host.close();
  });

  it('allocates distinct channels ≥ 1 and survives garbage and malformed payloads from the guest', () => {
    const g = new FakeGuest();
    const a = g.host.allocChannel();
    const b = g.host.allocChannel();
    expect(a).toBeGreaterThanOrEqual(1);
    expect(b).not.toBe(a);
    const kinds: string[] = [];
    g.host.onDecodeError = (k) => kinds.push(k);
    g.host.receive(Uint8Array.of(1, 2, 3, 4, 5));
    g.say(FrameType.STARTED, a, Uint8Array.of(1)); // too short to parse
    g.say(FrameType.EXIT, a, new Uint8Array()); // too short to parse
    g.say(0x99, a, Uint8Array.of(1)); // unknown type: delivered to onFrame, ignored
    expect(kinds).toEqual(['bad-magic']);
    expect(g.host.counters.decodeErrorsBeforeReady).toBe(1);
    g.say(FrameType.READY, 0, P.encodeReady({ readyNs: 1n, version: 'v' }));
    g.host.receive(Uint8Array.of(0xb0, 0x58, 0x5e, 0x41)); // after READY: a real error
    expect(g.host.counters.decodeErrors).toBe(1);
    expect(g.host.counters.badPayloads).toBe(2);
    expect(g.host.counters.framesIn).toBe(4);
    g.host.close();
  });
});

describe('MuxHost.load (LOAD, a streamed box load)', () => {
  /**
   * A boxd stand-in that takes LOAD_DATA in order and acknowledges every `ackEvery` bytes (0: only
   * when the test calls the returned `ackTo`).
   */
  function loader(g: FakeGuest, ackEvery: number, answer: (got: Uint8Array) => void) {
    const got: number[] = [];
    let size = -1;
    let acked = 0;
    const ackTo = (channel: number, n: number) => {
      acked = n;
      g.say(FrameType.LOAD_ACK, channel, P.encodeLoadAck(n));
    };
    g.answer = (f) => {
      if (f.type === FrameType.LOAD) size = P.decodeLoad(f.payload).size;
      if (f.type !== FrameType.LOAD_DATA) return;
      const d = P.decodeLoadData(f.payload);
      expect(d.offset).toBe(got.length);
      got.push(...d.bytes);
      expect(got.length - acked).toBeLessThanOrEqual(MUX_LOAD_WINDOW); // never past the window
      if (ackEvery && (got.length - acked >= ackEvery || got.length === size)) ackTo(f.channel, got.length);
      if (got.length === size) answer(Uint8Array.from(got));
    };
    return ackTo;
  }

  it('sends the archive in order within the window, reports progress as boxd takes it, resolves with RESULT', async () => {
    const g = new FakeGuest();
    g.posted = 1e9;
    const archive = Uint8Array.from({ length: 700_000 }, (_, i) => (i * 13) & 0xff);
    let received: Uint8Array | undefined;
    loader(g, 65536, (all) => {
      received = all;
      g.say(FrameType.RESULT, g.of(FrameType.LOAD)[0]!.channel, P.encodeResult({ code: 0, text: 'Loaded image: app:latest\n' }));
    });
    const progress: number[] = [];
    const h = g.host.load(archive, { name: 'app.oci.tar', onProgress: (n, total) => (expect(total).toBe(700_000), progress.push(n)) });
    await expect(h.done).resolves.toEqual({ code: 0, text: 'Loaded image: app:latest\n' });
    expect(P.decodeLoad(g.of(FrameType.LOAD)[0]!.payload)).toEqual({ size: 700_000, name: 'app.oci.tar' });
    expect(Buffer.from(received!).equals(Buffer.from(archive))).toBe(true);
    expect(Math.max(...g.of(FrameType.LOAD_DATA).map((f) => f.payload.length))).toBeLessThanOrEqual(65536);
    expect(progress.at(-1)).toBe(700_000);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    g.host.close();
  });

  it('holds back at the window until boxd acknowledges', async () => {
    const g = new FakeGuest();
    g.posted = 1e9;
    const ackTo = loader(g, 0, () => {});
    const h = g.host.load(new Uint8Array(1_000_000), { stallMs: 5000 });
    await sleep(30);
    const sent = () => loadDataBytes(g);
    expect(sent()).toBe(MUX_LOAD_WINDOW);
    ackTo(h.channel, 100_000);
    await until(() => sent() === MUX_LOAD_WINDOW + 100_000);
    await sleep(20);
    expect(sent()).toBe(MUX_LOAD_WINDOW + 100_000);
    h.abort();
    await until(() => g.of(FrameType.LOAD_ABORT).length === 1);
    g.say(
      FrameType.ERROR,
      h.channel,
      P.encodeError({ code: 125, message: 'box load: archive: aborted by the host after 362144 of 1000000 bytes: nothing was loaded' }),
    );
    await expect(h.done).rejects.toThrow(/^box load: archive: aborted by the host after 362144 of 1000000 bytes: nothing was loaded$/);
    g.host.close();
  });

  it('sends nothing more after abort(), even when a LOAD_ACK in flight opens the window again', async () => {
    const g = new FakeGuest();
    g.posted = 1e9;
    const ackTo = loader(g, 0, () => {});
    const h = g.host.load(new Uint8Array(1_000_000), { stallMs: 5000 });
    const sent = () => loadDataBytes(g);
    await until(() => sent() === MUX_LOAD_WINDOW);
    h.abort();
    await until(() => g.of(FrameType.LOAD_ABORT).length === 1);
    ackTo(h.channel, MUX_LOAD_WINDOW); // boxd acknowledged before it saw the abort
    await sleep(30);
    expect(sent()).toBe(MUX_LOAD_WINDOW);
    g.say(FrameType.ERROR, h.channel, P.encodeError({ code: 125, message: 'box load: archive: aborted by the host: nothing was loaded' }));
    await expect(h.done).rejects.toThrow(/aborted by the host/);
    g.host.close();
  });

  it("a bad archive gives box load's one line and code; boxd's ERROR rejects; a silent boxd is aborted after stallMs", async () => {
    const g = new FakeGuest();
    g.posted = 1e9;
    loader(g, 65536, () =>
      g.say(
        FrameType.RESULT,
        g.of(FrameType.LOAD).at(-1)!.channel,
        P.encodeResult({ code: 1, text: 'box load: bad.tar: blob sha256:0123456789ab does not match its digest: nothing was loaded\n' }),
      ),
    );
    await expect(g.host.load(new Uint8Array(5000), { name: 'bad.tar' }).done).resolves.toMatchObject({ code: 1, text: /does not match its digest/ });

    g.answer = (f) => {
      if (f.type === FrameType.LOAD_DATA)
        g.say(
          FrameType.ERROR,
          f.channel,
          P.encodeError({ code: 71, message: 'box load: x: LOAD_DATA for byte 9 while byte 0 was next (a frame lost or out of order): nothing was loaded' }),
        );
    };
    const e = await g.host.load(new Uint8Array(100), { name: 'x' }).done.catch((err: unknown) => err);
    expect(e).toBeInstanceOf(MuxRequestError);
    expect((e as MuxRequestError).code).toBe(71);
    expect((e as Error).message).toMatch(/out of order/);

    g.answer = () => {};
    const slow = g.host.load(new Uint8Array(100), { name: 'slow.tar', stallMs: 30 });
    await expect(slow.done).rejects.toThrow(/^box load slow.tar: boxd took no bytes for 30 ms \(0 of 100 taken\): aborted$/);
    expect(g.of(FrameType.LOAD_ABORT).at(-1)!.channel).toBe(slow.channel);
    g.host.close();
  });

  it('a boxd that took every byte but gives no answer: rejected after stallMs as such, with no LOAD_ABORT (boxd would ignore it)', async () => {
    const g = new FakeGuest();
    g.posted = 1e9;
    loader(g, 65536, () => {});
    const h = g.host.load(new Uint8Array(5000), { name: 'quiet.tar', stallMs: 30 });
    await expect(h.done).rejects.toThrow(/^box load quiet.tar: boxd took all 5000 bytes but gave no answer for 30 ms \(the load may still complete\)$/);
    expect(g.of(FrameType.LOAD_ABORT)).toEqual([]);
    g.host.close();
  });

  it('a host closed during a load (power-off): done rejects at once saying so, a later abort sends nothing', async () => {
    const g = new FakeGuest();
    g.posted = 1e9;
    g.answer = () => {}; // boxd takes nothing: both loads are in flight
    const h = g.host.load(new Uint8Array(1_000_000), { name: 'gone.tar', stallMs: 60_000 });
    const other = g.host.load(new Uint8Array(1_000), { name: 'other.tar', stallMs: 60_000 });
    await until(() => g.of(FrameType.LOAD_DATA).length > 0);
    const t0 = Date.now();
    g.host.close();
    await expect(h.done).rejects.toThrow(/^box load gone.tar: the container host was powered off: nothing was loaded$/);
    await expect(other.done).rejects.toThrow(/^box load other.tar: the container host was powered off: nothing was loaded$/);
    expect(Date.now() - t0).toBeLessThan(5_000); // not the 60 s stall
    h.abort();
    expect(g.of(FrameType.LOAD_ABORT)).toEqual([]);
  });

  it('an abort boxd confirms (ERROR, ECANCELED) rejects as MuxLoadAbortedError; an ERROR of its own does not', async () => {
    const g = new FakeGuest();
    g.posted = 1e9;
    g.answer = () => {}; // boxd takes nothing: the loads are in flight when aborted
    const h = g.host.load(new Uint8Array(1_000_000), { name: 'a.tar', stallMs: 5000 });
    h.abort();
    await until(() => g.of(FrameType.LOAD_ABORT).length === 1);
    g.say(
      FrameType.ERROR,
      h.channel,
      P.encodeError({ code: MUX_ECANCELED, message: 'box load: a.tar: aborted by the host after 0 of 1000000 bytes: nothing was loaded' }),
    );
    const e = await h.done.catch((err: unknown) => err);
    expect(e).toBeInstanceOf(MuxLoadAbortedError);
    expect((e as Error).name).toBe('MuxLoadAbortedError');

    const own = g.host.load(new Uint8Array(1_000_000), { name: 'b.tar', stallMs: 5000 });
    own.abort();
    await until(() => g.of(FrameType.LOAD_ABORT).length === 2);
    g.say(FrameType.ERROR, own.channel, P.encodeError({ code: 71, message: 'box load: b.tar: LOAD_DATA out of order: nothing was loaded' }));
    const e2 = await own.done.catch((err: unknown) => err);
    expect(e2).toBeInstanceOf(MuxRequestError);
    expect(e2).not.toBeInstanceOf(MuxLoadAbortedError);
    g.host.close();
  });

  it('an abort after boxd took every byte: a slow answer is reported as a load that may still complete, not as an unconfirmed abort', async () => {
    const g = new FakeGuest();
    g.posted = 1e9;
    loader(g, 65536, () => {});
    let taken = 0;
    const h = g.host.load(new Uint8Array(5000), { name: 'late.tar', stallMs: 30, onProgress: (n) => (taken = n) });
    await until(() => taken === 5000);
    h.abort();
    await expect(h.done).rejects.toThrow(/^box load late.tar: boxd took all 5000 bytes but gave no answer for 30 ms \(the load may still complete\)$/);
    g.host.close();
  });

  it('encodes a name safely: control characters replaced, at most 255 bytes', () => {
    expect(P.decodeLoad(P.encodeLoad(3, 'a\nb\u0007.tar'))).toEqual({ size: 3, name: 'a?b?.tar' });
    expect(P.encodeLoad(1, 'x'.repeat(400)).length).toBe(8 + 255);
    // Cut between characters, not inside one: 'é' is 2 bytes, so 127 of them (254 bytes) fit.
    expect(P.decodeLoad(P.encodeLoad(1, 'é'.repeat(200))).name).toBe('é'.repeat(127));
    expect(() => P.encodeLoad(-1, 'x')).toThrow(/bad archive size/);
    expect(() => P.decodeLoadData(new Uint8Array(8))).toThrow(/LOAD_DATA/);
  });
});
