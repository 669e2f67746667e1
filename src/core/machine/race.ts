/**
 * The rules of a race that do not depend on where it runs: who races (names as the page shows
 * them), how a container's start becomes its timeline and row, and what is ranked. The page's race
 * (src/ui/race) and the headless race (src/node) both follow them, so their results compare.
 */
import type { ContainerUpdate, MachineState } from './api.ts';
import type { PhaseMark } from './phases.ts';
import type { MachineKind } from './profiles.ts';
import { rankResults, type MachineResult, type RankedResult, type ResultStatus } from './results.ts';
import type { LabConfig, RaceMode } from './url-config.ts';

export interface RacerSpec {
  id: string;
  name: string;
  kind: MachineKind;
}

export interface RaceLineup {
  vms: (RacerSpec & { kind: 'vm'; /** 1-based, the N of `vmN.disk` */ number: number })[];
  /** The one container host, when the race has containers. */
  host?: RacerSpec & { kind: 'host' };
  /** Containers started on the host: `box run --name <name> --hostname <name>`. */
  containers: { id: string; name: string }[];
}

export function raceLineup(config: Pick<LabConfig, 'vms' | 'containers'>): RaceLineup {
  const vms = Array.from({ length: config.vms }, (_, i) => ({ id: `vm${i + 1}`, name: `VM ${i + 1}`, kind: 'vm' as const, number: i + 1 }));
  const containers = Array.from({ length: config.containers }, (_, i) => ({ id: `c${i + 1}`, name: `c${i + 1}` }));
  const host = config.containers > 0 ? { id: 'host', name: 'Container host', kind: 'host' as const } : undefined;
  return { vms, host, containers };
}

/** In a warm race the host booted before the start: it is reported but not ranked. */
export function rankRace(mode: RaceMode, results: readonly MachineResult[]): RankedResult[] {
  return rankResults(mode === 'warm' ? results.filter((r) => r.kind !== 'host') : results);
}

/** A machine's row status from its worker state and whether its finish marker appeared. */
export function machineStatus(state: MachineState | 'crashed', finished: boolean): ResultStatus {
  if (state === 'error' || state === 'crashed') return 'error';
  if (state === 'panic') return 'panic';
  if (finished) return 'finished';
  return state === 'stopped' ? 'stopped' : 'running';
}

/**
 * A container's timeline after a worker update, or undefined if the update does not change it.
 * Cold starts count from the host's power-on, so the host's boot up to the request comes first as
 * the "host" phase; warm starts count from the request. `finished`: the prompt is in (last mark).
 */
export function containerTimeline(
  u: ContainerUpdate,
  mode: RaceMode,
  current: { marks: readonly PhaseMark[]; finished: boolean },
): { marks: PhaseMark[]; finished: boolean } | undefined {
  const offset = mode === 'cold' ? (u.requestedAtMs ?? 0) : 0;
  const host: PhaseMark[] = offset > 0 ? [{ phase: 'host', wallMs: 0, instructions: 0, skipped: [] }] : [];
  if (u.marks && !current.finished) {
    return { marks: [...host, ...u.marks.map((m) => ({ ...m, wallMs: m.wallMs + offset }))], finished: true };
  }
  if (!current.marks.length && u.state === 'starting') {
    return { marks: [...host, { phase: 'request', wallMs: offset, instructions: 0, skipped: [] }], finished: false };
  }
  return undefined;
}

/**
 * Guest instructions the host ran for a container, on the same basis as its time: cold from the
 * host's power-on, warm from the request. Undefined until the prompt appeared.
 */
export function containerInstructions(u: ContainerUpdate, mode: RaceMode): number | undefined {
  if (u.instructions === undefined) return undefined;
  return u.instructions + (mode === 'cold' ? (u.requestedAtInstructions ?? 0) : 0);
}
