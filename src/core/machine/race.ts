/**
 * The rules of a race that do not depend on where it runs: who races (names as the page shows
 * them), how a container's start becomes its timeline and row, and what is ranked. The page's race
 * (src/ui/race) and the headless race (src/node) both follow them, so their results compare.
 */
import type { ContainerUpdate, MachineError, MachineState } from './api.ts';
import { PHASES, RESUME_PHASE, type PanicInfo, type PhaseMark } from './phases.ts';
import type { MachineKind } from './profiles.ts';
import { explain, rankResults, wasResumed, type MachineResult, type RankedResult, type ResultStatus } from './results.ts';
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

/**
 * The race's machines, made by where it runs (`make`: a page session, a worker thread) from the
 * lineup: each VM with its own disk when the setup names one (`vmN.disk`), the host asked to start
 * warm (resume its saved boot) in a warm race.
 */
export function raceMachines<M>(
  config: LabConfig,
  make: (spec: RacerSpec, opts: { vmDisk?: string; warm: boolean }) => M,
): { lineup: RaceLineup; vms: M[]; host: M | undefined } {
  const lineup = raceLineup(config);
  const vms = lineup.vms.map((vm) => make(vm, { vmDisk: config.vmDisks[vm.number], warm: false }));
  const host = lineup.host ? make(lineup.host, { warm: config.mode === 'warm' }) : undefined;
  return { lineup, vms, host };
}

/** Why a machine will not finish, in one sentence: its error, its kernel panic, or `otherwise`. */
export function failureOf(m: { readonly error?: MachineError; readonly panic?: PanicInfo }, otherwise = 'it stopped'): string {
  return m.error?.message ?? (m.panic ? `kernel panic: ${m.panic.line}` : otherwise);
}

/** What each container of a race says when its host did not boot. */
export const noContainersMessage = (why: string) => `no containers: the container host did not boot (${why})`;

/**
 * Rank a race's rows and add the figures that need the whole race: each container's time
 * including its host's boot (`withHostBootMs`). Cold: everything powered on together, so every row
 * is ranked by its time from power-on (a container's includes the host's boot). Warm: the host
 * booted before the start, once for every container: its row comes first, marked `beforeRace` and
 * not ranked, and the containers are ranked by their own start against the VMs' boots.
 */
export function rankRace(mode: RaceMode, results: readonly MachineResult[]): RankedResult[] {
  const host = results.find((r) => r.kind === 'host');
  const hostBootMs = host?.status === 'finished' ? host.bootMs : undefined;
  const withHost = results.map((r): MachineResult => {
    if (r.kind !== 'container') return r;
    if (mode === 'cold') return { ...r, withHostBootMs: r.status === 'finished' ? r.bootMs : undefined };
    const sum = hostBootMs !== undefined && r.ownStartMs !== undefined ? hostBootMs + r.ownStartMs : undefined;
    return { ...r, withHostBootMs: sum };
  });
  if (mode === 'cold' || !host) return rankResults(withHost);
  const ranked = rankResults(withHost.filter((r) => r.kind !== 'host'));
  const n = results.filter((r) => r.kind === 'container').length;
  const once = `${wasResumed(host) ? 'resumed from its saved state' : 'booted'} before the race, once for ${n === 1 ? 'its one container' : `all ${n} containers`} (not ranked)`;
  const why = explain(host, undefined);
  return [{ ...host, beforeRace: true, rank: undefined, explanation: host.status === 'finished' ? `${once}; ${why}` : why }, ...ranked];
}

/**
 * A container's own start, wall ms from its request to its prompt, from its timeline (a cold
 * timeline starts with the host's boot, a warm one at the request). Undefined until the prompt.
 */
export function ownStartMs(marks: readonly PhaseMark[], finish: PhaseMark | undefined): number | undefined {
  const request = marks.find((m) => m.phase === 'request');
  return finish && request ? finish.wallMs - request.wallMs : undefined;
}

/**
 * What a race needs from where it runs (the page's sessions, the headless race's threads) so that
 * both follow one order of events (runRaceSequence). `M` is that place's machine handle.
 */
export interface RaceStage<M> {
  mode: RaceMode;
  vms: readonly M[];
  /** The container host, when the race has containers. */
  host: M | undefined;
  /** Ask a machine to power on; does not wait. */
  powerOn(machine: M): void;
  /** True once the machine reached its finish marker; false if it failed (or ran out of time) first. */
  ready(machine: M): Promise<boolean>;
  /** Warm: the host's boot before the race is over. Return false if the race was stopped meanwhile. */
  hostBooted?(ok: boolean): boolean;
  /** The race proper starts now: the VMs are about to power on (the page starts its clock here). */
  racing?(): void;
  /** The host is ready: start every container on it. */
  startContainers(mode: RaceMode): void;
  /** The host did not become ready: every container fails, saying why. */
  noContainers(host: M): void;
}

/**
 * The order of a race, written once for the page and `npm run race`. Warm (the default): the host
 * powers on alone and boots, on its own lane, paid once; when it is ready the VMs power on and the
 * containers are started at the same moment. Cold: the VMs and the host power on together, and the
 * containers start the moment the host is ready. Resolves once everything has been started (or
 * failed to), not when the machines finish.
 */
export async function runRaceSequence<M>(stage: RaceStage<M>): Promise<void> {
  const { host, mode } = stage;
  let hostReady = false;
  if (host && mode === 'warm') {
    stage.powerOn(host);
    hostReady = await stage.ready(host);
    if (stage.hostBooted && !stage.hostBooted(hostReady)) return;
    if (!hostReady) stage.noContainers(host);
  }
  stage.racing?.();
  for (const vm of stage.vms) stage.powerOn(vm);
  if (!host) return;
  if (mode === 'warm') {
    if (hostReady) stage.startContainers('warm');
    return;
  }
  stage.powerOn(host);
  if (await stage.ready(host)) stage.startContainers('cold');
  else stage.noContainers(host);
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

/**
 * What a container's card (the page) or record (Node) keeps of its start. Both apply the worker's
 * updates and build their results row through the two functions below, so the rows compare.
 */
export interface ContainerProgress {
  readonly id: string;
  readonly name: string;
  readonly mode: RaceMode;
  channel: number | undefined;
  pid: number | undefined;
  marks: PhaseMark[];
  finish: PhaseMark | undefined;
  instructions: number | undefined;
}

/** Take a worker update's channel, pid and timeline; true when this update brought the prompt. */
export function applyContainerUpdate(c: ContainerProgress, u: ContainerUpdate): boolean {
  c.channel = u.channel;
  if (u.pid !== undefined) c.pid = u.pid;
  const next = containerTimeline(u, c.mode, { marks: c.marks, finished: !!c.finish });
  if (!next) return false;
  c.marks = next.marks;
  if (!next.finished) return false;
  c.finish = next.marks.at(-1);
  c.instructions = containerInstructions(u, c.mode);
  return true;
}

/** Plain copies of marks (the page's are reactive proxies; an export must not carry them). */
const copyMarks = (marks: readonly PhaseMark[]): PhaseMark[] => marks.map((m) => ({ ...m, skipped: [...m.skipped] }));

/** A container's results row; `error` is why it will not finish, if it will not. */
export function containerResult(c: ContainerProgress, error: string | undefined): MachineResult {
  return {
    id: c.id,
    name: c.name,
    kind: 'container',
    status: error ? 'error' : c.finish ? 'finished' : 'running',
    bootMs: c.finish?.wallMs,
    ownStartMs: ownStartMs(c.marks, c.finish),
    instructions: c.instructions,
    pid: c.pid,
    marks: copyMarks(c.marks),
    message: error,
  };
}

/** What a machine's card or headless handle keeps of its boot, for its results row. */
export interface MachineProgress {
  readonly id: string;
  readonly name: string;
  readonly kind: MachineKind;
  readonly state: MachineState | 'crashed';
  readonly finish: PhaseMark | undefined;
  readonly marks: readonly PhaseMark[];
  readonly loadMs: number | undefined;
  readonly error: MachineError | undefined;
  readonly panic: PanicInfo | undefined;
}

/** A VM's or the container host's results row: time and instructions at its finish marker. */
export function machineResult(m: MachineProgress): MachineResult {
  return {
    id: m.id,
    name: m.name,
    kind: m.kind,
    status: machineStatus(m.state, !!m.finish),
    bootMs: m.finish?.wallMs,
    instructions: m.finish?.instructions,
    loadMs: m.loadMs,
    marks: copyMarks(m.marks),
    message: m.error?.message ?? m.panic?.line,
  };
}

/**
 * Ask the host's worker to start a container (`box run -it --name <name>`): the reply brings its
 * channel; a refusal, or no worker at all, fails it with the reason.
 */
export function requestContainerStart(
  worker: { startContainer(name: string): Promise<number> } | undefined,
  c: { channel: number | undefined; fail(message: string): void },
  name: string,
): void {
  if (!worker) return c.fail('the container host is not running');
  worker.startContainer(name).then(
    (channel) => (c.channel = channel),
    (err: Error) => c.fail(err.message),
  );
}

/** A machine's timeline at power-on: its first boot phase, or the resume segment when a saved state is restored. */
export function powerOnMarks(kind: MachineKind, resumed: boolean | undefined): PhaseMark[] {
  return [{ phase: resumed ? RESUME_PHASE.name : PHASES[kind][0].name, wallMs: 0, instructions: 0, skipped: [] }];
}

/**
 * The container a worker update is about: by channel, or by name while its start request has not
 * been answered yet (the first update may come before startContainer's reply).
 */
export function containerFor<C extends { channel: number | undefined; name: string }>(containers: readonly C[], u: ContainerUpdate): C | undefined {
  return containers.find((c) => c.channel === u.channel || (c.channel === undefined && c.name === u.name));
}
