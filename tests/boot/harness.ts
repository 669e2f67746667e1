// Boot the committed guest images in v86 under Node: no browser, real firmware, real kernels.
// Every wait has a hard timeout and fails with the tail of the serial log, so a boot that never
// reaches its prompt fails loudly instead of hanging the suite.
import { readFileSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { V86 } from 'v86';
import { ARTIFACTS } from '../../src/core/artifacts.ts';
import { LazyDisk } from '../../src/core/lazy-disk.ts';
import { PROFILES, v86Options, type MachineKind, type ResolvedMedia } from '../../src/core/machine/profiles.ts';
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
  readonly emulator: any;
  private log = '';
  /** performance.now() at power-on; until then, at construction. */
  private t0 = performance.now();
  /** How long loading the files and instantiating v86 took before power-on. */
  loadMs = 0;
  /** Resolves at power-on. */
  readonly started: Promise<void>;
  private waiters: { re: RegExp; from: number; resolve: (m: Mark) => void; name: string }[] = [];
  private seq = 0;
  readonly marks: Mark[] = [];

  /** The VM's disk or the host's image store, to count what a boot fetched and see what the guest wrote. */
  readonly disk: LazyDisk | undefined;
  /** With `lan`: the NIC's cable and its switch port. */
  readonly lan: { cable: NicCable; port: SwitchPort } | undefined;

  constructor(readonly kind: GuestKind, opts: BootOptions = {}) {
    const options = nodeV86Options(kind, opts);
    this.disk = options.hda instanceof LazyDisk ? options.hda : undefined;
    this.emulator = new V86(options as any);
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
      this.log += String.fromCharCode(byte);
      this.checkWaiters();
    });
  }

  get serial(): string {
    return this.log;
  }

  elapsedMs(): number {
    return performance.now() - this.t0;
  }

  instructions(): number {
    return this.emulator.get_instruction_counter?.() ?? 0;
  }

  private checkWaiters() {
    for (const w of [...this.waiters]) {
      if (w.re.test(this.log.slice(w.from))) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        const mark = { name: w.name, wallMs: this.elapsedMs(), instructions: this.instructions() };
        w.resolve(mark);
      }
    }
  }

  /** Wait until `re` appears in serial output after position `from` (default: anywhere). */
  waitFor(re: RegExp, timeoutMs: number, name = String(re), from = 0): Promise<Mark> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`${this.kind}: timed out after ${timeoutMs} ms waiting for ${re}\n--- serial log (last 3000 chars) ---\n${this.log.slice(-3000)}\n---`));
      }, timeoutMs);
      const done = (m: Mark) => {
        clearTimeout(timer);
        this.marks.push(m);
        resolve(m);
      };
      this.waiters.push({ re, from, resolve: done, name });
      this.checkWaiters();
    });
  }

  type(text: string) {
    this.emulator.serial0_send(text);
  }

  /** Run a shell command on the serial console and return what it printed. */
  async run(cmd: string, timeoutMs = 20_000): Promise<string> {
    const n = ++this.seq;
    const from = this.log.length;
    // The quotes keep the typed command's echo from matching the end marker.
    this.type(`${cmd}; echo "@@"done-${n}\n`);
    await this.waitFor(new RegExp(`@@done-${n}\\r?\\n`), timeoutMs, `run ${cmd}`, from);
    const out = this.log.slice(from);
    const lines = out.split(/\r?\n/);
    // Drop the echoed command line and the marker line.
    const body = lines.slice(1, lines.findIndex((l) => l.startsWith(`@@done-${n}`)));
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
