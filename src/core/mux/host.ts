// The host end of the box mux, transport-agnostic: you feed it the bytes the guest sent, it calls
// `write` with bytes for the guest, but only when `canWrite()` says the guest has a receive buffer
// posted (v86 drops input otherwise), at most `maxPush` bytes at a time, retrying on a timer.
import { encodeFrame, FrameType, MuxDecoder, MUX_INITIAL_CREDIT, MUX_LOAD_WINDOW, MUX_MAX_PAYLOAD, type DecodeErrorKind, type Frame } from './frames.ts';
import * as P from './payloads.ts';
import { clearTimer, setTimer, utf8Decoder, utf8Encoder, type TimerId } from './platform.ts';

export interface MuxTransport {
  /** Hand bytes to the guest. Called only after canWrite() returned true, with ≤ maxPush bytes. */
  write(bytes: Uint8Array): void;
  /** Whether the guest has a receive buffer posted right now. */
  canWrite(): boolean;
}

export interface MuxHostOptions {
  /** Largest single push (the guest's receive buffers are one page). Default 4096. */
  maxPush?: number;
  /** How long to wait before trying again when the guest has no buffer posted. Default 2 ms. */
  retryMs?: number;
  /** Credit each terminal starts with, as boxd assumes. Default 65536. */
  initialCredit?: number;
  /** Acknowledged bytes are returned as CREDIT once this many have gathered. Default 4096. */
  creditBatch?: number;
  /** HELLO is repeated at this interval until READY (boxd may open its port after the first one). Default 1000 ms; 0 sends it once. */
  helloIntervalMs?: number;
  /** Default timeout of cmd() and of run()/exec() waiting for STARTED. Default 30 s. */
  requestTimeoutMs?: number;
}

/** Events of one channel. `output` gets raw pty bytes; call host.ack(channel, n) once they are consumed. */
export interface ChannelListener {
  output?(bytes: Uint8Array): void;
  exit?(status: P.ExitStatus): void;
  started?(started: P.Started): void;
  firstOutput?(ns: bigint): void;
  stats?(stats: P.Stats): void;
  error?(error: P.MuxErrorReply): void;
  result?(result: P.Result): void;
  /** The same RESULT with its text as bytes (MuxHost.cmdBytes). */
  resultBytes?(result: P.ResultBytes): void;
  /** LOAD_ACK: archive bytes `box load` has taken (MuxHost.load). */
  loadAck?(taken: number): void;
}

/** A streamed `box load` under way (MuxHost.load). */
export interface LoadHandle {
  channel: number;
  /**
   * `box load`'s answer once every byte is in and checked: code 0 and "Loaded image: …" lines, or
   * its exit code and its one error line (a damaged or truncated archive: nothing was loaded).
   * Rejects with a MuxRequestError when the stream failed (boxd's ERROR: out of order, aborted,
   * too many loads), when boxd took no bytes and gave no answer for `stallMs`, or at once when the
   * host is closed (the machine was powered off: nothing was loaded). An abort() that boxd confirms
   * (its ERROR with code ECANCELED) rejects with a MuxLoadAbortedError.
   */
  done: Promise<P.Result>;
  /**
   * Stop sending and ask boxd to drop what it staged (LOAD_ABORT); `done` then rejects with boxd's
   * ERROR (a MuxLoadAbortedError). Once boxd has every byte it ignores the abort (PROTOCOL.md):
   * `done` then settles with box load's own answer, or, if that takes over `stallMs`, rejects as a
   * load whose bytes are all in (it may still complete).
   */
  abort(): void;
}

/** How MuxHost.load sends an archive: its name in messages, progress, and when to give up. */
export interface LoadOptions {
  /** The archive's name in boxd's messages ("app.oci.tar"). */
  name?: string;
  /** After each LOAD_ACK: bytes taken so far, of `total`. */
  onProgress?(taken: number, total: number): void;
  /**
   * Give up when boxd neither takes bytes nor answers this long (and abort, unless boxd already took
   * every byte: it would ignore the abort). Default: requestTimeoutMs.
   */
  stallMs?: number;
}

/**
 * A verb's answer as bytes (MuxHost.cmdBytes): `bytes` is its stdout when `code` is 0 (empty
 * otherwise), `stderr` its notes or its error text.
 */
export interface CmdBytesReply {
  code: number;
  bytes: Uint8Array;
  stderr: string;
}

/** An ERROR reply, or no reply in time, to a request. */
export class MuxRequestError extends Error {
  override name = 'MuxRequestError';
  constructor(
    message: string,
    readonly code: number,
    readonly channel: number,
  ) {
    super(message);
  }
}

/** Linux's ECANCELED: the code of boxd's ERROR that confirms a LOAD_ABORT (PROTOCOL.md "Streamed load"). */
export const MUX_ECANCELED = 125;

/** MuxLoadAbortedError's `name` (a string, so a bundler's renamed class still matches). */
export const MUX_LOAD_ABORTED = 'MuxLoadAbortedError';

/**
 * A load boxd confirmed aborted: its ERROR with code ECANCELED, after LOAD_ABORT. Nothing was loaded.
 * Its `name` survives a comlink hop (comlink keeps an Error's name and message), so the page can tell
 * a confirmed cancel from a load that failed for its own reasons.
 */
export class MuxLoadAbortedError extends MuxRequestError {
  override name = MUX_LOAD_ABORTED;
}

export interface RunHandle {
  channel: number;
  /** STARTED, or a MuxRequestError for ERROR / timeout. */
  started: Promise<P.Started>;
}

interface Terminal {
  /** Payload bytes received and not yet acknowledged by the consumer. */
  unacked: number;
  /** Acknowledged bytes not yet returned as CREDIT. */
  toCredit: number;
  /** What boxd believes it may still send: initial + granted − received. */
  guestCredit: number;
}

const DEFAULTS: Required<MuxHostOptions> = {
  maxPush: 4096,
  retryMs: 2,
  initialCredit: MUX_INITIAL_CREDIT,
  creditBatch: 4096,
  helloIntervalMs: 1000,
  requestTimeoutMs: 30_000,
};

export class MuxHost {
  readonly ready: Promise<P.Ready>;
  private readonly opts: Required<MuxHostOptions>;
  private readonly decoder: MuxDecoder;
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  private retry: TimerId | null = null;
  private pumpScheduled = false;
  private hello: TimerId | null = null;
  private readonly listeners = new Map<number, Set<ChannelListener>>();
  private readonly terminals = new Map<number, Terminal>();
  private readonly inUse = new Set<number>();
  private nextChannel = 1;
  private readyState: P.Ready | null = null;
  private resolveReady!: (r: P.Ready) => void;
  private closed = false;
  /** Loads under way (MuxHost.load): each one's way to fail at once when the host closes. */
  private readonly openLoads = new Set<() => void>();
  /** Every frame received (after the per-channel listeners); for logs and tools. */
  onFrame: ((f: Frame) => void) | null = null;
  /**
   * Bytes from the guest that did not decode. Before READY these are expected: the guest's tty echoes
   * early HELLOs until boxd makes the port raw (PROTOCOL.md, host notes). After READY each is a bug.
   */
  onDecodeError: ((kind: DecodeErrorKind, beforeReady: boolean) => void) | null = null;
  /** A frame whose payload does not parse (dropped; the host keeps serving). */
  onBadPayload: ((f: Frame, error: P.MuxPayloadError) => void) | null = null;
  /** Counters for tests and the stats panel. */
  readonly counters = {
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    pushes: 0,
    retries: 0,
    decodeErrors: 0,
    decodeErrorsBeforeReady: 0,
    badPayloads: 0,
  };

  constructor(
    private readonly transport: MuxTransport,
    options: MuxHostOptions = {},
  ) {
    this.opts = { ...DEFAULTS, ...options };
    this.decoder = new MuxDecoder({ frame: (f) => this.dispatch(f), error: (k) => this.decodeError(k) });
    this.ready = new Promise((resolve) => (this.resolveReady = resolve));
    this.sayHello();
  }

  /**
   * Bytes the guest sent, in any pieces. Bytes waiting for a receive buffer are pushed at once
   * after (from a microtask) instead of at the retry timer: boxd answers after it read the port,
   * which posts the buffers it emptied (a LOAD's LOAD_ACKs come as its bytes are read).
   */
  receive(bytes: Uint8Array): void {
    this.counters.bytesIn += bytes.length;
    this.decoder.feed(bytes);
    if (this.retry !== null && this.queued > 0 && !this.closed) {
      clearTimer(this.retry);
      this.retry = null;
      this.schedulePump();
    }
  }

  /** Queue one frame for the guest. */
  send(type: number, channel: number, payload?: Uint8Array): void {
    if (this.closed) throw new Error('mux: host is closed');
    const f = encodeFrame(type, channel, payload);
    this.queue.push(f);
    this.queued += f.length;
    this.counters.framesOut++;
    this.schedulePump();
  }

  /** Bytes waiting for the guest to post receive buffers. */
  get pending(): number {
    return this.queued;
  }

  /** Listen to one channel; returns the unsubscribe function. */
  listen(channel: number, l: ChannelListener): () => void {
    let set = this.listeners.get(channel);
    if (!set) this.listeners.set(channel, (set = new Set()));
    set.add(l);
    return () => {
      set.delete(l);
      if (set.size === 0 && this.listeners.get(channel) === set) this.listeners.delete(channel);
    };
  }

  /** The lowest-numbered free channel from a rotating start (≥ 1), marked in use until release(). */
  allocChannel(): number {
    for (let tries = 0; tries < 0xffffffff; tries++) {
      const c = this.nextChannel;
      this.nextChannel = c >= 0xffffffff ? 1 : c + 1;
      if (!this.inUse.has(c)) {
        this.inUse.add(c);
        return c;
      }
    }
    throw new Error('mux: no free channel');
  }

  /** Forget a channel: its listeners, credit and id (which may be reused). */
  release(channel: number): void {
    this.inUse.delete(channel);
    this.terminals.delete(channel);
    this.listeners.delete(channel);
  }

  /**
   * Run a `box` verb; resolves with its RESULT, rejects on ERROR or timeout. A reply too long for one
   * frame (or one with notes) comes as OUTPUT frames, then RESULT with the notes (PROTOCOL.md): `text`
   * is then the OUTPUT bytes and `stderr` the notes.
   */
  cmd(argv: readonly string[], timeoutMs = this.opts.requestTimeoutMs): Promise<P.Result> {
    const channel = this.allocChannel();
    const streamed: Uint8Array[] = [];
    const done = this.awaitReply<P.Result>(channel, timeoutMs, `box ${argv.join(' ')}`, (settle) => ({
      output: (b) => void streamed.push(b.slice()),
      result: (r) => settle(streamed.length ? { code: r.code, text: utf8Decoder.decode(concatBytes(streamed)), stderr: r.text } : r),
    }));
    this.send(FrameType.CMD, channel, P.encodeArgv(argv));
    return done.finally(() => this.release(channel));
  }

  /**
   * Run a `box` verb whose answer is a file, not text (`['save', 'busybox']`: an OCI archive);
   * resolves with its bytes, untouched, and its notes (CmdBytesReply); rejects on ERROR or when the
   * whole answer has not arrived within `timeoutMs`. `onBytes(n)` after each frame: bytes so far.
   */
  cmdBytes(argv: readonly string[], timeoutMs = this.opts.requestTimeoutMs, onBytes?: (received: number) => void): Promise<CmdBytesReply> {
    const channel = this.allocChannel();
    const streamed: Uint8Array[] = [];
    let received = 0;
    const done = this.awaitReply<CmdBytesReply>(channel, timeoutMs, `box ${argv.join(' ')}`, (settle) => ({
      output: (b) => {
        streamed.push(b.slice());
        received += b.length;
        onBytes?.(received);
      },
      resultBytes: (r) => {
        // Streamed: OUTPUT is stdout and RESULT's text the notes. One frame: its text is stdout on success, stderr otherwise.
        if (streamed.length) settle({ code: r.code, bytes: concatBytes(streamed), stderr: utf8Decoder.decode(r.bytes) });
        else if (r.code === 0) settle({ code: 0, bytes: r.bytes.slice(), stderr: '' });
        else settle({ code: r.code, bytes: new Uint8Array(0), stderr: utf8Decoder.decode(r.bytes) });
      },
    }));
    this.send(FrameType.CMD, channel, P.encodeArgv(argv));
    return done.finally(() => this.release(channel));
  }

  /**
   * `box load` of an OCI archive sent from here (LOAD, PROTOCOL.md): the bytes go as LOAD_DATA
   * frames of at most 64 KiB, never more than MUX_LOAD_WINDOW past what boxd acknowledged, so a
   * slow guest holds the sender instead of filling its memory. Progress as boxd takes the bytes.
   */
  load(archive: Uint8Array, opts: LoadOptions = {}): LoadHandle {
    const channel = this.allocChannel();
    const total = archive.length;
    const stallMs = opts.stallMs ?? this.opts.requestTimeoutMs;
    const chunk = MUX_MAX_PAYLOAD - 8;
    let sent = 0;
    let acked = 0;
    let over = false;
    let aborted = false;
    const what = `box load${opts.name ? ` ${opts.name}` : ''}`;
    let stall: TimerId | null = null;
    let settle: { resolve(r: P.Result): void; reject(e: Error): void };
    const done = new Promise<P.Result>((resolve, reject) => (settle = { resolve, reject }));
    const finish = () => {
      over = true;
      off();
      if (stall !== null) clearTimer(stall);
      this.openLoads.delete(powerOff);
      this.release(channel);
    };
    const fail = (e: Error) => {
      if (over) return;
      finish();
      settle.reject(e);
    };
    // The guest is gone with a closed host (close() calls this at once), and with it the load.
    const powerOff = () => fail(new MuxRequestError(`${what}: the container host was powered off: nothing was loaded`, 0, channel));
    const armStall = () => {
      if (this.closed) return powerOff();
      if (stall !== null) clearTimer(stall);
      stall = setTimer(() => {
        if (over) return;
        if (this.closed) return powerOff();
        // Once boxd has every byte, box load is checking and storing them: boxd ignores LOAD_ABORT
        // then (PROTOCOL.md), so none is sent and the load may still complete, aborted or not.
        const complete = acked === total;
        if (!aborted && !complete) this.send(FrameType.LOAD_ABORT, channel);
        const why = complete
          ? `boxd took all ${total} bytes but gave no answer for ${stallMs} ms (the load may still complete)`
          : aborted
            ? 'aborted, and boxd did not confirm'
            : `boxd took no bytes for ${stallMs} ms (${acked} of ${total} taken): aborted`;
        fail(new MuxRequestError(`${what}: ${why}`, 0, channel));
      }, stallMs);
    };
    const pump = () => {
      while (!over && !aborted && sent < total && sent - acked < MUX_LOAD_WINDOW) {
        const n = Math.min(chunk, total - sent, MUX_LOAD_WINDOW - (sent - acked));
        this.send(FrameType.LOAD_DATA, channel, P.encodeLoadData(sent, archive.subarray(sent, sent + n)));
        sent += n;
      }
    };
    const off = this.listen(channel, {
      loadAck: (taken) => {
        if (over || taken < acked) return;
        acked = taken;
        armStall();
        opts.onProgress?.(taken, total);
        pump();
      },
      result: (r) => {
        if (over) return;
        finish();
        settle.resolve(r);
      },
      error: (e) =>
        fail(aborted && e.code === MUX_ECANCELED ? new MuxLoadAbortedError(e.message, e.code, channel) : new MuxRequestError(e.message, e.code, channel)),
    });
    this.openLoads.add(powerOff);
    this.send(FrameType.LOAD, channel, P.encodeLoad(total, opts.name ?? ''));
    armStall();
    pump();
    return {
      channel,
      done,
      abort: () => {
        if (over || aborted) return;
        aborted = true;
        if (!this.closed) this.send(FrameType.LOAD_ABORT, channel);
        armStall();
        // boxd answers with its ERROR once its child has dropped what it staged; that settles `done`.
      },
    };
  }

  /** `box run <argv>` on a new terminal. The listener sees its output, exit and stats. */
  run(argv: readonly string[], listener: ChannelListener = {}, timeoutMs = this.opts.requestTimeoutMs): RunHandle {
    return this.openTerminal(FrameType.RUN, P.encodeArgv(argv), `box run ${argv.join(' ')}`, listener, timeoutMs);
  }

  /** Exec `argv` with a pty inside the container on terminal `target`, on a new terminal. */
  exec(target: number, argv: readonly string[], listener: ChannelListener = {}, timeoutMs = this.opts.requestTimeoutMs): RunHandle {
    return this.openTerminal(FrameType.EXEC, P.encodeExec(target, argv), `exec ${argv.join(' ')}`, listener, timeoutMs);
  }

  /** Run `argv` in the container host itself (HOST_EXEC: no container, no pty, stdout+stderr on one pipe), on a new terminal. */
  hostExec(argv: readonly string[], listener: ChannelListener = {}, timeoutMs = this.opts.requestTimeoutMs): RunHandle {
    return this.openTerminal(FrameType.HOST_EXEC, P.encodeArgv(argv), `host exec ${argv.join(' ')}`, listener, timeoutMs);
  }

  input(channel: number, data: Uint8Array | string): void {
    const bytes = typeof data === 'string' ? utf8Encoder.encode(data) : data;
    for (let off = 0; off < bytes.length; off += MUX_MAX_PAYLOAD) this.send(FrameType.INPUT, channel, bytes.subarray(off, off + MUX_MAX_PAYLOAD));
  }

  resize(channel: number, cols: number, rows: number): void {
    this.send(FrameType.RESIZE, channel, P.encodeResize(cols, rows));
  }

  signal(channel: number, signal: number): void {
    this.send(FrameType.SIGNAL, channel, P.encodeSignal(signal));
  }

  remove(channel: number): void {
    this.send(FrameType.REMOVE, channel);
  }

  /** Ask for STATS of one terminal, or of all (channel 0); replies arrive at the listeners. */
  requestStats(channel = 0): void {
    this.send(FrameType.STATS, channel);
  }

  /** The consumer has taken `n` OUTPUT bytes of `channel` (e.g. the terminal rendered them): return them as credit. */
  ack(channel: number, n: number): void {
    const t = this.terminal(channel);
    const take = Math.min(n, t.unacked);
    t.unacked -= take;
    t.toCredit += take;
    if (t.toCredit >= this.opts.creditBatch || t.unacked === 0) this.flushCredit(channel, t);
  }

  /** Credit boxd still has on a terminal, as far as the host knows. */
  guestCredit(channel: number): number {
    return this.terminal(channel).guestCredit;
  }

  /** Stop: timers cleared, nothing more sent; loads under way fail at once (their guest is gone). */
  close(): void {
    this.closed = true;
    for (const powerOff of [...this.openLoads]) powerOff();
    if (this.retry !== null) clearTimer(this.retry);
    if (this.hello !== null) clearTimer(this.hello);
    this.retry = this.hello = null;
    this.queue.length = 0;
    this.queued = 0;
  }

  // ---------------------------------------------------------------- internals

  private sayHello(): void {
    if (this.closed || this.readyState) return;
    this.send(FrameType.HELLO, 0);
    if (this.opts.helloIntervalMs > 0) this.hello = setTimer(() => this.sayHello(), this.opts.helloIntervalMs);
  }

  private openTerminal(type: number, payload: Uint8Array, what: string, listener: ChannelListener, timeoutMs: number): RunHandle {
    const channel = this.allocChannel();
    this.terminal(channel);
    this.listen(channel, listener);
    const started = this.awaitReply<P.Started>(channel, timeoutMs, what, (settle) => ({ started: (s) => settle(s) }));
    // An ERROR instead of STARTED leaves nothing running on the channel: free it.
    started.catch(() => this.release(channel));
    this.send(type, channel, payload);
    return { channel, started };
  }

  /** A promise settled by the first reply on `channel` (via `on`), an ERROR, or the timeout. */
  private awaitReply<T>(channel: number, timeoutMs: number, what: string, on: (settle: (v: T) => void) => ChannelListener): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let timer: TimerId | null = null;
      let off = () => {};
      const finish = () => {
        off();
        if (timer !== null) clearTimer(timer);
      };
      const l: ChannelListener = {
        ...on((v) => (finish(), resolve(v))),
        error: (e) => (finish(), reject(new MuxRequestError(`${what}: ${e.message}`, e.code, channel))),
      };
      off = this.listen(channel, l);
      timer = setTimer(() => (finish(), reject(new MuxRequestError(`${what}: no reply in ${timeoutMs} ms`, 0, channel))), timeoutMs);
    });
  }

  private terminal(channel: number): Terminal {
    let t = this.terminals.get(channel);
    if (!t) this.terminals.set(channel, (t = { unacked: 0, toCredit: 0, guestCredit: this.opts.initialCredit }));
    return t;
  }

  private flushCredit(channel: number, t: Terminal): void {
    if (t.toCredit === 0) return;
    this.send(FrameType.CREDIT, channel, P.encodeCredit(t.toCredit));
    t.guestCredit += t.toCredit;
    t.toCredit = 0;
  }

  private decodeError(kind: DecodeErrorKind): void {
    const beforeReady = this.readyState === null;
    if (beforeReady) this.counters.decodeErrorsBeforeReady++;
    else this.counters.decodeErrors++;
    this.onDecodeError?.(kind, beforeReady);
  }

  private dispatch(f: Frame): void {
    this.counters.framesIn++;
    const ls = [...(this.listeners.get(f.channel) ?? [])];
    const each = (fn: (l: ChannelListener) => void) => ls.forEach(fn);
    try {
      switch (f.type) {
        case FrameType.READY: {
          const r = P.decodeReady(f.payload);
          if (!this.readyState) {
            this.readyState = r;
            if (this.hello !== null) clearTimer(this.hello);
            this.hello = null;
            this.resolveReady(r);
          }
          break;
        }
        case FrameType.OUTPUT: {
          const t = this.terminal(f.channel);
          t.unacked += f.payload.length;
          t.guestCredit -= f.payload.length;
          each((l) => l.output?.(f.payload));
          break;
        }
        case FrameType.EXIT: {
          const s = P.decodeExit(f.payload);
          each((l) => l.exit?.(s));
          break;
        }
        case FrameType.STARTED: {
          const s = P.decodeStarted(f.payload);
          each((l) => l.started?.(s));
          break;
        }
        case FrameType.FIRST_OUTPUT: {
          const ns = P.decodeFirstOutput(f.payload);
          each((l) => l.firstOutput?.(ns));
          break;
        }
        case FrameType.STATS_REPLY: {
          const s = P.decodeStats(f.payload);
          each((l) => l.stats?.(s));
          break;
        }
        case FrameType.ERROR: {
          const e = P.decodeError(f.payload);
          each((l) => l.error?.(e));
          break;
        }
        case FrameType.LOAD_ACK: {
          const taken = P.decodeLoadAck(f.payload);
          each((l) => l.loadAck?.(taken));
          break;
        }
        case FrameType.RESULT: {
          // Decoded once; the text only if a listener wants it (a `save` answer is an archive, not text).
          const raw = P.decodeResultBytes(f.payload);
          let text: P.Result | undefined;
          each((l) => (l.result?.((text ??= P.resultText(raw))), l.resultBytes?.(raw)));
          break;
        }
      }
    } catch (e) {
      // A malformed payload from the guest must not take the host down.
      if (!(e instanceof P.MuxPayloadError)) throw e;
      this.counters.badPayloads++;
      this.onBadPayload?.(f, e);
    }
    this.onFrame?.(f);
  }

  /**
   * Push from a microtask, never from inside send(): send() is often called from a listener running
   * inside v86's own virtio handler (an OUTPUT acknowledged at once), which must not re-enter the device.
   */
  private schedulePump(): void {
    if (this.pumpScheduled || this.retry !== null) return;
    this.pumpScheduled = true;
    void Promise.resolve().then(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Push queued bytes while the guest has buffers; otherwise try again shortly. */
  private pump(): void {
    if (this.retry !== null || this.closed) return;
    while (this.queued > 0) {
      if (!this.transport.canWrite()) {
        this.counters.retries++;
        this.retry = setTimer(() => {
          this.retry = null;
          this.pump();
        }, this.opts.retryMs);
        return;
      }
      const n = Math.min(this.queued, this.opts.maxPush);
      const chunk = new Uint8Array(n);
      for (let filled = 0; filled < n;) {
        const head = this.queue[0]!;
        const take = Math.min(head.length, n - filled);
        chunk.set(head.subarray(0, take), filled);
        filled += take;
        if (take === head.length) this.queue.shift();
        else this.queue[0] = head.subarray(take);
      }
      this.queued -= n;
      this.counters.pushes++;
      this.counters.bytesOut += n;
      this.transport.write(chunk);
    }
  }
}

/** The parts, in order, as one new array (a reply streamed in OUTPUT frames, a worker batch of console bytes). */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}
