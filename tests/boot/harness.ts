// Boot the committed guest images in v86 under Node: no browser, real firmware, real kernels.
// Every wait has a hard timeout and fails with the tail of the serial log, so a boot that never
// reaches its prompt fails loudly instead of hanging the suite.
import { readFileSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { V86 } from 'v86';
import { ARTIFACTS } from '../../src/core/artifacts.ts';
import { LazyDisk } from '../../src/core/lazy-disk.ts';
import { MARKERS } from '../../src/core/markers.ts';
import { PROFILES, v86Options, type MachineKind, type ResolvedMedia } from '../../src/core/machine/profiles.ts';
import { PHASES } from '../../src/core/machine/phases.ts';
import { setJit } from '../../src/core/machine/jit.ts';
import { encodeFrame, FrameType as T, MuxDecoder, type Frame } from '../../src/core/mux/frames.ts';
import { virtioConsoleQueue, virtioQueueEnabled, withholdConsolePort } from '../../src/core/mux/v86-port.ts';
import { connectNicToSwitch, setNicMac, type EthernetSwitch, type NicCable, type SwitchPort } from '../../src/core/lan/index.ts';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const DIST = process.env.STACKLAB_DIST ?? join(REPO, 'images/dist');
const WASM = join(REPO, 'node_modules/v86/build/v86.wasm');

export type GuestKind = MachineKind;

export interface BootOptions {
  /** Guest RAM in MiB. */
  memoryMb?: number;
  /** Extra v86 options merged last (e.g. a different cmdline). */
  extra?: Record<string, unknown>;
  /** Plug the machine's NIC into this switch (src/core/lan), in-process. */
  lan?: { switch: EthernetSwitch; mac: string; nic?: 'ne2k' | 'virtio' };
}

export interface Mark {
  name: string;
  /** Since power-on (the emulator starting to run), not since the files were loaded. */
  wallMs: number;
  instructions: number;
}

const dist = (p: string) => join(DIST, p);
const bytes = (p: string) => {
  const b = readFileSync(dist(p));
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
};

export function hostCmdline(): string {
  return readFileSync(dist('host/cmdline.txt'), 'utf8').trim();
}

/** The same options the page's worker builds (src/core/machine/profiles.ts), with files from disk. */
function nodeV86Options(kind: GuestKind, opts: BootOptions): Record<string, unknown> {
  const media: ResolvedMedia = {
    wasmUrl: WASM,
    bios: bytes(ARTIFACTS.seabios),
    // What the profile preloads: the VM has a VGA BIOS, the headless host none.
    ...(PROFILES[kind].preload.includes('vgabios') ? { vgaBios: bytes(ARTIFACTS.vgabios) } : {}),
    ...(kind === 'vm'
      ? { disk: fileDisk(dist(ARTIFACTS.vmDisk)) }
      : { kernel: bytes(ARTIFACTS.hostKernel), initrd: bytes(ARTIFACTS.hostInitrd), cmdline: hostCmdline(), disk: fileDisk(dist(ARTIFACTS.hostStore)) }),
  };
  const network = opts.lan ? { type: opts.lan.nic ?? 'ne2k' } : undefined;
  const options = { ...v86Options({ kind, memoryMb: opts.memoryMb, network }, media), ...opts.extra };
  // The LAN is the switch, never v86's own relays (its 'inbrowser' one is a BroadcastChannel).
  if (opts.lan) options.net_device = { type: network!.type };
  return options;
}

/** A LazyDisk over a local image file (the page uses the same class over HTTP). */
export function fileDisk(path: string): LazyDisk {
  return new LazyDisk(statSync(path).size, async (start, length) => {
    const fd = openSync(path, 'r');
    try {
      const buf = new Uint8Array(length);
      readSync(fd, buf, 0, length, start);
      return buf;
    } finally {
      closeSync(fd);
    }
  });
}

export class Machine {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- v86's typings lack the internals these v86-level tests reach (bus, v86.cpu, virtio-console events)
  readonly emulator: any;
  private log = '';
  /** performance.now() at power-on; until then, at construction. */
  private t0 = performance.now();
  /** How long loading the files and instantiating v86 took before power-on. */
  loadMs = 0;
  /** Resolves at power-on. */
  readonly started: Promise<void>;
  private waiters: { re: RegExp; from: number; resolve: (m: Mark) => void; name: string }[] = [];
  /** Serial bytes not yet joined into the log (joined when someone reads it: once, not per byte). */
  private incoming: string[] = [];
  /** The last complete line and the current one: all a new byte can complete a match in. */
  private window = '';
  /** Offset of `window` in the log. */
  private windowStart = 0;
  /** Characters the waiters' patterns were run over: stays proportional to the output (not its square). */
  scannedChars = 0;
  private seq = 0;
  readonly marks: Mark[] = [];

  /** The VM's disk or the host's image store, to count what a boot fetched and see what the guest wrote. */
  readonly disk: LazyDisk | undefined;
  /** With `lan`: the NIC's cable and its switch port. */
  readonly lan: { cable: NicCable; port: SwitchPort } | undefined;

  constructor(
    readonly kind: GuestKind,
    opts: BootOptions = {},
  ) {
    const options = nodeV86Options(kind, opts);
    this.disk = options.hda instanceof LazyDisk ? options.hda : undefined;
    this.emulator = new V86(options as ConstructorParameters<typeof V86>[0]);
    this.lan = opts.lan ? connectNicToSwitch(this.emulator, opts.lan.switch, kind) : undefined;
    this.started = new Promise((resolve) => {
      this.emulator.add_listener('emulator-loaded', () => {
        if (opts.lan) setNicMac(this.emulator, opts.lan.mac);
        this.loadMs = performance.now() - this.t0;
        this.t0 = performance.now();
        this.emulator.run();
        resolve();
      });
    });
    this.emulator.add_listener('serial0-output-byte', (byte: number) => {
      const ch = String.fromCharCode(byte);
      this.incoming.push(ch);
      this.window += ch;
      if (ch === '\n') {
        const cut = this.window.lastIndexOf('\n', this.window.length - 2) + 1;
        this.window = this.window.slice(cut);
        this.windowStart += cut;
      }
      if (this.waiters.length) this.checkWaiters();
    });
    // As the page's runtime does: boot interpreted, JIT on at the last boot phase (src/core/machine/jit.ts).
    this.waiters.push({ re: PHASES[kind].at(-1)!.marker!, from: 0, resolve: () => setJit(this.emulator, true), name: 'jit on' });
  }

  /** Everything the guest wrote on ttyS0 so far. */
  get serial(): string {
    this.takeIncoming();
    return this.log;
  }

  private takeIncoming() {
    if (this.incoming.length) this.log += this.incoming.splice(0).join('');
  }

  elapsedMs(): number {
    return performance.now() - this.t0;
  }

  instructions(): number {
    return this.emulator.get_instruction_counter?.() ?? 0;
  }

  /**
   * On every byte, as before, but each waiter looks only at the line this byte ends or continues
   * and the one before it (so a marker followed by its line break still matches): patterns are
   * line-sized, and a command printing 100 KB costs matching over short lines, not over 100 KB per byte.
   */
  private checkWaiters() {
    for (const w of [...this.waiters]) {
      const at = Math.max(w.from, this.windowStart) - this.windowStart;
      if (at >= this.window.length) continue;
      const text = at ? this.window.slice(at) : this.window;
      this.scannedChars += text.length;
      if (w.re.test(text)) this.settle(w);
    }
  }

  private settle(w: (typeof this.waiters)[number]) {
    this.waiters.splice(this.waiters.indexOf(w), 1);
    w.resolve({ name: w.name, wallMs: this.elapsedMs(), instructions: this.instructions() });
  }

  /** Wait until `re` appears in serial output after position `from` (default: anywhere). */
  waitFor(re: RegExp, timeoutMs: number, name = String(re), from = 0): Promise<Mark> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(
          new Error(`${this.kind}: timed out after ${timeoutMs} ms waiting for ${re}\n--- serial log (last 3000 chars) ---\n${this.serial.slice(-3000)}\n---`),
        );
      }, timeoutMs);
      const done = (m: Mark) => {
        clearTimeout(timer);
        this.marks.push(m);
        resolve(m);
      };
      // A waiter made now looks at everything after `from` once, then only at what is new.
      const w = { re, from, resolve: done, name };
      this.waiters.push(w);
      const earlier = this.serial.slice(from);
      this.scannedChars += earlier.length;
      if (re.test(earlier)) this.settle(w);
    });
  }

  type(text: string) {
    this.emulator.serial0_send(text);
  }

  /** Run a shell command on the serial console and return what it printed. */
  async run(cmd: string, timeoutMs = 20_000): Promise<string> {
    const n = ++this.seq;
    const from = this.serial.length;
    // The quotes keep the typed command's echo from matching the end marker.
    this.type(`${cmd}; echo "@@"done-${n}\n`);
    await this.waitFor(new RegExp(`@@done-${n}\\r?\\n`), timeoutMs, `run ${cmd}`, from);
    const out = this.serial.slice(from);
    const lines = out.split(/\r?\n/);
    // Drop the echoed command line and the marker line.
    const body = lines.slice(
      1,
      lines.findIndex((l) => l.startsWith(`@@done-${n}`)),
    );
    return body.join('\n');
  }

  async stop() {
    this.lan?.cable.unplug();
    this.lan?.port.disconnect();
    await this.emulator.stop();
    this.emulator.destroy?.();
  }
}

export async function boot(kind: GuestKind, opts: BootOptions = {}): Promise<Machine> {
  return new Machine(kind, opts);
}

// ---------------------------------------------------------------- the mux, host side
export const text = new TextEncoder();
export const utf8 = new TextDecoder();
export const args = (...a: string[]) => text.encode(a.map((s) => `${s}\0`).join(''));

/** boxd's port: queues input until the guest posts a buffer, decodes output frames. */
export class MuxPort {
  readonly frames: Frame[] = [];
  /** Anything boxd sent that did not decode: must stay empty. */
  readonly errors: string[] = [];
  readonly output = new Map<number, string>();
  private pending: Uint8Array[] = [];
  private waiters: (() => void)[] = [];
  private timer: ReturnType<typeof setInterval>;

  /** Bytes of OUTPUT per channel, whatever they are (`output` holds them decoded as text). */
  readonly bytes = new Map<number, number>();
  /** Give OUTPUT back as CREDIT at once (the page's terminal does once it rendered); off = a reader that stalls. */
  autoCredit = true;

  constructor(private readonly m: Machine) {
    // As the page's v86VirtioPort does: port 1 is a generic port (/dev/vport0p1), not an hvc tty.
    withholdConsolePort(m.emulator, 1);
    m.emulator.add_listener('virtio-console1-output-bytes', (bytes: Uint8Array) => this.receive(bytes));
    this.timer = setInterval(() => this.pump(), 2);
  }

  private readonly decoder = new MuxDecoder({
    frame: (f) => {
      this.frames.push(f);
      if (f.type === T.OUTPUT) {
        this.output.set(f.channel, (this.output.get(f.channel) ?? '') + utf8.decode(f.payload));
        this.bytes.set(f.channel, (this.bytes.get(f.channel) ?? 0) + f.payload.length);
        if (this.autoCredit) this.credit(f.channel, f.payload.length);
      }
    },
    error: (kind) => this.errors.push(kind),
  });

  private receive(bytes: Uint8Array) {
    this.decoder.feed(bytes);
    for (const w of this.waiters.splice(0)) w();
  }

  /** v86 drops input when the guest has no receive buffer posted: push only when it has one. */
  private pump() {
    const queue = virtioConsoleQueue(this.m.emulator, 1);
    // Not powered on yet, or the guest driver has not enabled the queue (has_request() would read address 0).
    if (!queue || !virtioQueueEnabled(queue)) return;
    while (this.pending.length && queue.has_request()) {
      this.m.emulator.bus.send('virtio-console1-input-bytes', this.pending.shift());
    }
  }

  send(type: number, channel: number, payload?: Uint8Array) {
    const f = encodeFrame(type, channel, payload);
    for (let i = 0; i < f.length; i += 4096) this.pending.push(f.slice(i, i + 4096));
  }

  credit(channel: number, n: number) {
    this.send(T.CREDIT, channel, new Uint8Array(new Uint32Array([n]).buffer));
  }

  sendRaw(bytes: Uint8Array) {
    this.pending.push(bytes);
  }

  /** Wait for a frame matching `pred` received at index ≥ from. */
  async waitFrame(pred: (f: Frame) => boolean, timeoutMs: number, what: string, from = 0): Promise<Frame> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = this.frames.slice(from).find(pred);
      if (found) return found;
      if (performance.now() > deadline) {
        throw new Error(`mux: timed out after ${timeoutMs} ms waiting for ${what}\n--- serial (last 2000) ---\n${this.m.serial.slice(-2000)}`);
      }
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  async cmd(channel: number, ...argv: string[]): Promise<{ code: number; text: string }> {
    const from = this.frames.length;
    this.send(T.CMD, channel, args(...argv));
    const f = await this.waitFrame((f) => f.channel === channel && (f.type === T.RESULT || f.type === T.ERROR), 30_000, `RESULT of ${argv.join(' ')}`, from);
    const v = new DataView(f.payload.buffer, f.payload.byteOffset);
    return { code: v.getInt32(0, true), text: utf8.decode(f.payload.subarray(4)) };
  }

  close() {
    clearInterval(this.timer);
  }
}

/** A container terminal on one mux channel, driven like the harness drives the serial shell. */
export class Terminal {
  private seq = 0;
  constructor(
    private readonly port: MuxPort,
    readonly channel: number,
  ) {}

  get screen(): string {
    return this.port.output.get(this.channel) ?? '';
  }

  async run(cmd: string, timeoutMs = 30_000): Promise<string> {
    const n = ++this.seq;
    const from = this.screen.length;
    this.port.send(T.INPUT, this.channel, text.encode(`${cmd}; echo "@@"end-${n}\n`));
    const marker = new RegExp(`^@@end-${n}\\r?$`, 'm');
    const deadline = performance.now() + timeoutMs;
    while (!marker.test(this.screen.slice(from))) {
      if (performance.now() > deadline) throw new Error(`terminal ${this.channel}: timed out on ${cmd}\n${this.screen.slice(-1500)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const lines = this.screen.slice(from).split(/\r?\n/);
    return lines
      .slice(
        1,
        lines.findIndex((l) => marker.test(l)),
      )
      .join('\n');
  }
}

/**
 * A booted container host with the page's side of the box mux attached, at its root shell:
 * what every container test starts from. The caller closes the mux and stops the machine.
 */
export async function hostWithMux(): Promise<{ m: Machine; mux: MuxPort }> {
  const m = await boot('host');
  const mux = new MuxPort(m);
  await m.waitFor(MARKERS.hostReady, 90_000, 'host ready');
  m.type('\n');
  await m.waitFor(/# $/m, 20_000, 'host shell');
  return { m, mux };
}

/**
 * A shell command on the machine's serial console: its output (CRs dropped) and exit status. The
 * output is what comes between two markers the shell prints: the echo of a long command wraps.
 */
export async function shStatus(m: Machine, cmd: string, timeoutMs = 60_000): Promise<{ out: string; code: number }> {
  const out = await m.run(`echo "@@"start; ${cmd}; echo "@@"rc=$?`, timeoutMs);
  const found = /^@@start\r?\n([\s\S]*?)^@@rc=(\d+)/m.exec(out);
  if (!found) throw new Error(`no markers in the output of ${cmd}:\n${out}`);
  return { out: found[1]!.replace(/\r/g, ''), code: Number(found[2]) };
}

/**
 * The committed host images can run containers: the initramfs carries boxd and the image store
 * the OCI layout (images/build.sh initramfs). Container tests skip without them, never silently
 * on a stale rule: this is the one place that knows where each lives.
 */
export function hostHasContainerImages(): boolean {
  try {
    const cpio = readFileSync(join(DIST, ARTIFACTS.hostInitrd));
    return cpio.includes('usr/bin/boxd') && readFileSync(join(DIST, ARTIFACTS.hostStore)).includes('index.json');
  } catch {
    return false;
  }
}
