/**
 * Race results: what each machine measured, the ranking, a one-line "why" per row, and the
 * JSON/CSV a class exports. Only measured figures go in; a machine that did not finish says so.
 */
import { phaseDurations, phasesOf, type PhaseMark } from './phases.ts';
import { CONTAINER_PHASES } from './container-phases.ts';
import type { MachineKind } from './profiles.ts';
import { formatMs, formatInstructions } from './timers.ts';

export type ResultKind = MachineKind | 'container';

export type ResultStatus = 'finished' | 'running' | 'panic' | 'error' | 'stopped';

export interface MachineResult {
  id: string;
  name: string;
  kind: ResultKind;
  status: ResultStatus;
  /** Power-on → finish marker, wall ms (absent if it did not finish). */
  bootMs?: number;
  /** Guest instructions power-on → finish. */
  instructions?: number;
  /** Time spent downloading and building the emulator before power-on. */
  loadMs?: number;
  marks: PhaseMark[];
  /** Error or panic message, when there is one. */
  message?: string;
  /** Container: its PID 1 as the host kernel numbers it (boxd's STARTED). */
  pid?: number;
  /** What `hostname` and `uname -r` answered inside the guest after the race (headless race). */
  hostname?: string;
  kernel?: string;
}

export interface RankedResult extends MachineResult {
  rank: number | undefined;
  explanation: string;
}

export interface RaceExport {
  app: 'stacklab';
  version: 1;
  date: string;
  setup: string;
  environment?: string;
  results: RankedResult[];
}

function phaseLabel(kind: ResultKind, phase: string): string {
  const defs = kind === 'container' ? CONTAINER_PHASES : phasesOf(kind);
  return defs.find((p) => p.name === phase)?.label ?? phase;
}

/** The phase that took longest, with its share of the boot. */
function dominantPhase(r: MachineResult) {
  const parts = phaseDurations(r.marks);
  if (!parts.length || !r.bootMs) return undefined;
  const top = parts.reduce((a, b) => (b.wallMs > a.wallMs ? b : a));
  return { ...top, share: top.wallMs / r.bootMs };
}

export function explain(r: MachineResult, fastest: MachineResult | undefined): string {
  if (r.status === 'error') return `did not boot: ${r.message ?? 'error'}`;
  if (r.status === 'panic') return `kernel panic: ${r.message ?? 'the guest kernel stopped'}`;
  if (r.status !== 'finished' || r.bootMs === undefined) return 'still booting when the results were taken';
  const top = dominantPhase(r);
  const why =
    r.kind === 'vm'
      ? 'a whole PC boots: firmware, bootloader, its own kernel, init, services'
      : r.kind === 'host'
        ? 'one kernel boots once; containers then share it'
        : 'no firmware and no kernel of its own: namespaces, mounts and exec on the shared kernel';
  const topText = top ? `; longest phase ${phaseLabel(r.kind, top.phase)} ${formatMs(top.wallMs)} (${Math.round(top.share * 100)} %)` : '';
  const behind = fastest && fastest !== r && fastest.bootMs !== undefined ? `; ${(r.bootMs / Math.max(fastest.bootMs, 1)).toFixed(1)}× the winner` : '';
  return `${why}${topText}${behind}`;
}

/** Finished machines first, fastest first; the rest keep their order after them, unranked. */
export function rankResults(results: readonly MachineResult[]): RankedResult[] {
  const finished = results.filter((r) => r.status === 'finished' && r.bootMs !== undefined).sort((a, b) => a.bootMs! - b.bootMs!);
  const rest = results.filter((r) => !finished.includes(r));
  const fastest = finished[0];
  return [
    ...finished.map((r, i) => ({ ...r, rank: i + 1, explanation: explain(r, fastest) })),
    ...rest.map((r) => ({ ...r, rank: undefined, explanation: explain(r, fastest) })),
  ];
}

export function toJSON(ranked: RankedResult[], setup: string, date: Date, environment?: string): string {
  const out: RaceExport = { app: 'stacklab', version: 1, date: date.toISOString(), setup, environment, results: ranked };
  return JSON.stringify(out, null, 2);
}

function csvCell(v: unknown): string {
  const s = v === undefined || v === null ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per machine; one `<phase>_ms` column per phase seen in any row, in first-seen order. */
export function toCSV(ranked: RankedResult[]): string {
  const phases: string[] = [];
  for (const r of ranked) for (const p of phaseDurations(r.marks)) if (!phases.includes(p.phase)) phases.push(p.phase);
  const header = ['rank', 'id', 'name', 'kind', 'status', 'boot_ms', 'instructions', 'load_ms', ...phases.map((p) => `${p}_ms`), 'explanation'];
  const rows = ranked.map((r) => {
    const d = new Map(phaseDurations(r.marks).map((p) => [p.phase, p.wallMs]));
    return [
      r.rank,
      r.id,
      r.name,
      r.kind,
      r.status,
      r.bootMs?.toFixed(1),
      r.instructions,
      r.loadMs?.toFixed(1),
      ...phases.map((p) => d.get(p)?.toFixed(1)),
      r.explanation,
    ].map(csvCell).join(',');
  });
  return [header.join(','), ...rows].join('\n') + '\n';
}

export { formatMs, formatInstructions };

/**
 * The race's headline in a sentence or two, from the measurements only: the fastest container-side
 * machine against the fastest VM, and where the VMs' time went that the container side never spends.
 */
export function raceSummary(ranked: readonly RankedResult[]): string[] {
  const done = ranked.filter((r) => r.status === 'finished' && r.bootMs !== undefined);
  const vms = done.filter((r) => r.kind === 'vm');
  const shared = done.filter((r) => r.kind !== 'vm');
  const lines: string[] = [];
  const vm = vms[0];
  // With containers on the board they are the comparison (cold ones include the host's boot).
  const other = shared.find((r) => r.kind === 'container') ?? shared[0];
  if (vm && other) {
    const ratio = vm.bootMs! / Math.max(other.bootMs!, 1);
    const what = other.kind === 'host' ? 'The container host was ready' : `Container ${other.name} had its prompt`;
    lines.push(`${what} in ${formatMs(other.bootMs!)}; the fastest VM needed ${formatMs(vm.bootMs!)} (${ratio.toFixed(1)}×).`);
  } else if (vm) {
    lines.push(`Fastest VM: ${vm.name} in ${formatMs(vm.bootMs!)}.`);
  }
  if (vms.length) {
    // Firmware and bootloader: work a VM repeats at every start and a container never does.
    const share = (r: MachineResult) => {
      const d = new Map(phaseDurations(r.marks).map((p) => [p.phase, p.wallMs]));
      return ((d.get('bios') ?? 0) + (d.get('bootloader') ?? 0)) / r.bootMs!;
    };
    const avg = vms.reduce((n, r) => n + share(r), 0) / vms.length;
    lines.push(`Each VM spent ${Math.round(avg * 100)} % of its boot in firmware and bootloader before its own kernel even started; containers skip both and share one kernel.`);
  }
  const failed = ranked.filter((r) => r.status === 'error' || r.status === 'panic');
  if (failed.length) lines.push(`${failed.length} machine${failed.length === 1 ? '' : 's'} did not finish: ${failed.map((r) => r.name).join(', ')}.`);
  return lines;
}
