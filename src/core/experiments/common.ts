/**
 * Helpers every experiment uses: a Lab that remembers the machines it booted and stops them all
 * (also when the experiment fails), a result builder, formatting for one-line summaries, and the
 * small parsers for what guests print (/proc/meminfo, busybox `time`).
 */
import type { BootOptions, ContainerHandle, Driver, HostHandle, MachineHandle, VmHandle } from './driver.ts';
import type { Evidence, ExperimentContext, ExperimentResult, Figure, Series, Side, Unit } from './types.ts';
import { formatInstructions, formatMs } from '../machine/timers.ts';
import { setTimer } from '../mux/platform.ts';

export const sleep = (ms: number) => new Promise<void>((r) => setTimer(r, ms));

export class AbortedError extends Error {
  override name = 'AbortedError';
}

/** The machines of one experiment run, and what it has measured so far. */
export class Lab {
  private readonly machines = new Set<MachineHandle>();
  readonly figures: Figure[] = [];
  readonly series: Series[] = [];
  readonly evidence: Evidence[] = [];
  readonly notes: string[] = [];
  readonly t0: number;

  constructor(
    readonly driver: Driver,
    readonly ctx: ExperimentContext = {},
  ) {
    this.t0 = driver.now();
  }

  param(name: string, fallback: number): number {
    const v = this.ctx.params?.[name];
    return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
  }

  progress(message: string, fraction?: number) {
    this.check();
    this.ctx.onProgress?.({ message, fraction });
  }

  check() {
    if (this.ctx.signal?.aborted) throw new AbortedError('stopped by the user');
  }

  async vm(opts: BootOptions = {}): Promise<VmHandle> {
    this.check();
    const m = await this.driver.bootVm(opts);
    this.machines.add(m);
    return m;
  }

  async host(opts: BootOptions = {}): Promise<HostHandle> {
    this.check();
    const m = await this.driver.bootHost(opts);
    this.machines.add(m);
    return m;
  }

  async container(host: HostHandle, image: string, opts?: Parameters<HostHandle['startContainer']>[1]): Promise<ContainerHandle> {
    this.check();
    return host.startContainer(image, opts);
  }

  async stop(m: MachineHandle) {
    this.machines.delete(m);
    await m.stop();
  }

  figure(side: Side, id: string, label: string, value: number | string | boolean, unit: Unit, extra: Partial<Figure> = {}): Figure {
    const f: Figure = { id, side, label, value, unit, ...extra };
    this.figures.push(f);
    return f;
  }

  get(id: string): Figure | undefined {
    return this.figures.find((f) => f.id === id);
  }

  show(side: Side, label: string, text: string) {
    this.evidence.push({ side, label, text });
  }

  note(text: string) {
    this.notes.push(text);
  }

  /** Stop everything this run started; never throws. Containers go with their host's power-off. */
  async close() {
    await Promise.all([...this.machines].map((m) => m.stop().catch(() => {})));
    this.machines.clear();
  }

  result(id: string, summary: { vm: string; container: string; host?: string }): ExperimentResult {
    return {
      id,
      ...summary,
      figures: this.figures,
      series: this.series,
      evidence: this.evidence,
      notes: this.notes,
      durationMs: this.driver.now() - this.t0,
    };
  }
}

/**
 * Wait until every machine idles (its instruction rate drops under `maxMips`), so no background
 * work (the host unpacking layers after boot) shares the emulator's thread with the measured job.
 * Returns the idle rates seen last, in M instructions per second.
 */
export async function settle(lab: Lab, machines: MachineHandle[], maxMips: number, timeoutMs: number): Promise<number[]> {
  const end = lab.driver.now() + timeoutMs;
  for (;;) {
    const a = await Promise.all(machines.map((m) => m.stats()));
    const t0 = lab.driver.now();
    await sleep(500);
    const b = await Promise.all(machines.map((m) => m.stats()));
    const dt = (lab.driver.now() - t0) / 1000;
    const mips = b.map((s, i) => (s.instructions - a[i]!.instructions) / 1e6 / dt);
    if (mips.every((r) => r < maxMips) || lab.driver.now() > end) return mips;
  }
}

/** Run `body` with a Lab whose machines are stopped afterwards, whatever happens. */
export async function withLab(driver: Driver, ctx: ExperimentContext | undefined, body: (lab: Lab) => Promise<ExperimentResult>): Promise<ExperimentResult> {
  const lab = new Lab(driver, ctx);
  try {
    return await body(lab);
  } finally {
    await lab.close();
  }
}

// ---------------------------------------------------------------- formatting

export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '–';
  if (n < 0) return `−${formatBytes(-n)}`;
  n = Math.round(n);
  if (n >= 1 << 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

export function formatValue(value: number | string | boolean, unit: Unit): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  switch (unit) {
    case 'bytes':
      return formatBytes(value);
    case 'ms':
      return formatMs(value);
    case 'instructions':
      return formatInstructions(value);
    case 'percent':
      return `${value.toFixed(1)} %`;
    case 'ratio':
      return `${value.toFixed(2)}×`;
    case 'MiB':
      return `${value.toFixed(value < 10 ? 1 : 0)} MiB`;
    case 'bool':
      return value ? 'yes' : 'no';
    default:
      return Number.isInteger(value) ? String(value) : value.toFixed(2);
  }
}

// ---------------------------------------------------------------- parsing what guests print

/** /proc/meminfo as kB numbers. */
export function parseMeminfo(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^(\w+):\s+(\d+) kB$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

/** Bytes in use by the guest: MemTotal − MemAvailable (what the kernel could not hand out now). */
export function usedBytes(meminfo: Record<string, number>): number {
  const total = meminfo.MemTotal;
  const available = meminfo.MemAvailable;
  if (total === undefined || available === undefined) throw new Error('meminfo without MemTotal/MemAvailable');
  return (total - available) * 1024;
}

/** busybox `time` output ("real\t0m 5.78s") → ms for real, user, sys. */
export function parseBusyboxTime(text: string): { realMs: number; userMs: number; sysMs: number } {
  const get = (what: string) => {
    const m = new RegExp(`^${what}\\s+(?:(\\d+)h )?(\\d+)m ([\\d.]+)s$`, 'm').exec(text);
    if (!m) throw new Error(`no "${what}" line in the output of time:\n${text}`);
    return ((Number(m[1] ?? 0) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000;
  };
  return { realMs: get('real'), userMs: get('user'), sysMs: get('sys') };
}

/**
 * A counter the guest printed alone on a line (`cat /sys/class/net/eth0/statistics/rx_bytes`,
 * a cgroup's `memory.current`).
 * @throws Error "WHAT: expected a number, got: …" when no line is a bare number.
 */
export function parseCounter(text: string, what: string): number {
  const m = /^\s*(\d+)\s*$/m.exec(text);
  if (!m) throw new Error(`${what}: expected a number, got: ${text.slice(-200)}`);
  return Number(m[1]);
}

/** Fail with the command's output when it did not exit 0. */
export function ok(r: { output: string; exitCode: number }, what: string): string {
  if (r.exitCode !== 0) throw new Error(`${what} exited ${r.exitCode}: ${r.output.slice(-500)}`);
  return r.output;
}

export const median = (xs: readonly number[]): number => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
