/**
 * Race results: what each machine measured, the ranking, a one-line "why" per row, and the
 * JSON/CSV a class exports. Only measured figures go in; a machine that did not finish says so.
 */
import { phaseDurations, phaseLabel, phasesOf, type PhaseDef, type PhaseMark } from './phases.ts';
import { CONTAINER_PHASES } from './container-phases.ts';
import type { MachineKind } from './profiles.ts';
import { formatMs, formatInstructions } from './timers.ts';
import type { RaceMode } from './url-config.ts';

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
  /**
   * Container: its own start, wall ms from the page sending RUN to its first output (the phases
   * after "host"). A warm container's bootMs is this figure; a cold one's adds the host's boot.
   */
  ownStartMs?: number;
  /**
   * Container: wall ms including the one boot of its host. Cold race: measured on one clock from
   * the host's power-on to the prompt (= bootMs). Warm race: the host's boot (or resume) before
   * the race plus the container's own start, two measured figures added (set by rankRace).
   */
  withHostBootMs?: number;
  /**
   * The container host of a warm race: it booted (or resumed) before the start, once for every
   * container. On the board and in the table, never ranked (set by rankRace).
   */
  beforeRace?: boolean;
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

/** The phases a results row's marks name: a container's start phases, or a machine's boot phases and resume. */
export const phasesOfKind = (kind: ResultKind): readonly PhaseDef[] => (kind === 'container' ? CONTAINER_PHASES : phasesOf(kind));

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
  const topText = top ? `; longest phase ${phaseLabel(phasesOfKind(r.kind), top.phase)} ${formatMs(top.wallMs)} (${Math.round(top.share * 100)} %)` : '';
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
  const header = [
    'rank',
    'id',
    'name',
    'kind',
    'status',
    'boot_ms',
    'own_start_ms',
    'with_host_boot_ms',
    'instructions',
    'load_ms',
    ...phases.map((p) => `${p}_ms`),
    'explanation',
  ];
  const rows = ranked.map((r) => {
    const d = new Map(phaseDurations(r.marks).map((p) => [p.phase, p.wallMs]));
    return [
      r.rank,
      r.id,
      r.name,
      r.kind,
      r.status,
      r.bootMs?.toFixed(1),
      r.ownStartMs?.toFixed(1),
      r.withHostBootMs?.toFixed(1),
      r.instructions,
      r.loadMs?.toFixed(1),
      ...phases.map((p) => d.get(p)?.toFixed(1)),
      r.explanation,
    ]
      .map(csvCell)
      .join(',');
  });
  return [header.join(','), ...rows].join('\n') + '\n';
}

export { formatMs, formatInstructions };

/** "38.2×": how many times `slow` is `fast`, one decimal, from the two measured figures. */
const times = (slow: number, fast: number) => `${(slow / Math.max(fast, 0.1)).toFixed(1)}×`;

/** A host row whose timeline is one resume segment: restored from a saved state, not booted. */
export const wasResumed = (r: Pick<MachineResult, 'marks'>) => r.marks[0]?.phase === 'resume';

/**
 * The race's headline in a few sentences, from the measurements only. With containers on the
 * board, two figures: the fastest container's own start (request → prompt) against the fastest
 * VM's boot, with the ratio; and the container host's one boot, shared by all N containers (before
 * the race when `mode` is warm, inside it when cold), with what the container took including it.
 * Then where the VMs' time went that the container side never spends, and who did not finish.
 */
export function raceSummary(ranked: readonly RankedResult[], mode: RaceMode): string[] {
  const done = ranked.filter((r) => r.status === 'finished' && r.bootMs !== undefined);
  const vm = done.filter((r) => r.kind === 'vm').sort((a, b) => a.bootMs! - b.bootMs!)[0];
  const host = done.find((r) => r.kind === 'host');
  const all = ranked.filter((r) => r.kind === 'container');
  const c = done.filter((r) => r.kind === 'container' && r.ownStartMs !== undefined).sort((a, b) => a.ownStartMs! - b.ownStartMs!)[0];
  const lines: string[] = [];
  if (c) {
    const against = vm
      ? `; the fastest VM, ${vm.name}, needed ${formatMs(vm.bootMs!)} from power-on to login (${times(vm.bootMs!, c.ownStartMs!)} as long)`
      : '';
    lines.push(`Container ${c.name} started in ${formatMs(c.ownStartMs!)}, from its request to its prompt${against}.`);
  }
  if (host && all.length) {
    const n = all.length === 1 ? 'its one container' : `all ${all.length} containers`;
    const how = wasResumed(host) ? 'was resumed from its saved state' : 'booted';
    const when = mode === 'warm' ? 'before the race' : 'inside the race';
    const withHost = c?.withHostBootMs;
    const incl =
      c && withHost !== undefined
        ? `; with that boot, ${c.name} took ${formatMs(withHost)}${vm ? `, against the fastest VM's ${formatMs(vm.bootMs!)} (${times(vm.bootMs!, withHost)})` : ''}`
        : '';
    lines.push(`The container host ${how} once, ${when}, in ${formatMs(host.bootMs!)}: paid once for ${n}${incl}.`);
  } else if (host && vm) {
    lines.push(
      `The container host was ready in ${formatMs(host.bootMs!)}; the fastest VM, ${vm.name}, needed ${formatMs(vm.bootMs!)} (${times(vm.bootMs!, host.bootMs!)}).`,
    );
  } else if (vm && !c) {
    lines.push(`Fastest VM: ${vm.name} in ${formatMs(vm.bootMs!)}.`);
  }
  const vms = done.filter((r) => r.kind === 'vm');
  if (vms.length) {
    // Firmware and bootloader: work a VM repeats at every start and a container never does.
    const share = (r: MachineResult) => {
      const d = new Map(phaseDurations(r.marks).map((p) => [p.phase, p.wallMs]));
      return ((d.get('bios') ?? 0) + (d.get('bootloader') ?? 0)) / r.bootMs!;
    };
    const avg = vms.reduce((n, r) => n + share(r), 0) / vms.length;
    lines.push(
      `Each VM spent ${Math.round(avg * 100)} % of its boot in firmware and bootloader before its own kernel even started; containers skip both and share one kernel.`,
    );
  }
  const failed = ranked.filter((r) => r.status === 'error' || r.status === 'panic');
  if (failed.length) lines.push(`${failed.length} machine${failed.length === 1 ? '' : 's'} did not finish: ${failed.map((r) => r.name).join(', ')}.`);
  return lines;
}
