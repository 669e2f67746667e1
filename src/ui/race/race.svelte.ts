/**
 * A race: a set of machines powered on at the same moment, and their ranked results.
 * Machines are created fresh for every start so each race measures cold boots.
 */
import {
  boardScaleMs,
  failureOf,
  formatConfig,
  noContainersMessage,
  raceMachines,
  rankRace,
  runRaceSequence,
  toCSV,
  toJSON,
  type LabConfig,
  type RaceMode,
  type RankedResult,
} from '../../core/machine/index.ts';
import { MachineSession, machineUrls, type ContainerSession } from '../machines/index.ts';
import { epochNow } from '../shared/index.ts';

/** Containers run on the container host through the box mux (src/core/mux, boxd in the host image). */
export const CONTAINERS_AVAILABLE = true;

export type Racer = MachineSession | ContainerSession;

export class Race {
  sessions = $state<MachineSession[]>([]);
  startedEpoch = $state<number | undefined>();
  /** Warm mode: the host is booting before the race starts. */
  warming = $state(false);
  /** The mode of the race on the board (the setup's radio may have changed since). */
  mode = $state<RaceMode>('warm');
  /** Why the containers could not be started, when they could not. */
  containerError = $state<string | undefined>();

  constructor(public config: LabConfig) {}

  /** Everything on the board: VMs, the container host, its containers. */
  get racers(): Racer[] {
    return this.sessions.flatMap((s) => [s, ...s.containers]);
  }

  get host(): MachineSession | undefined {
    return this.sessions.find((s) => s.kind === 'host');
  }

  get done(): boolean {
    const all = this.racers;
    const expected = this.sessions.length + (this.host && !this.containerError ? this.config.containers : 0);
    return !this.warming && all.length >= expected && all.length > 0 && all.every((s) => s.finish || s.error || s.panic);
  }

  /** One time scale for every timeline on the board: the longest wall time, in whole steps (boardScaleMs). */
  scaleMs(now: number): number {
    return boardScaleMs(Math.max(0, ...this.racers.map((s) => s.elapsedMs(now) ?? 0)));
  }

  /** Ranked rows (rankRace): in a warm race the host's row comes first, paid once and not ranked. */
  results(): RankedResult[] {
    return rankRace(
      this.mode,
      this.racers.map((s) => s.result()),
    );
  }

  /**
   * Cold: power everything on at once (one call per worker, none waits for another); the containers
   * are started the moment the host is ready, and their timers include the host's boot.
   * Warm (the default): boot the host first, on its own lane (measured, paid once, not ranked);
   * then power on the VMs and start the containers together.
   */
  async start(): Promise<void> {
    this.stop();
    this.containerError = undefined;
    const { mode } = this.config;
    this.mode = mode;
    // Warm: the first warm race boots the host and keeps its state (src/runtime/snapshot.ts); later ones resume it.
    const {
      lineup,
      vms: vmSessions,
      host,
    } = raceMachines(
      this.config,
      (spec, { vmDisk, warm }) => new MachineSession({ ...spec, urls: machineUrls({ vmDisk }), ...(warm ? { options: { snapshots: { warm: true } } } : {}) }),
    );
    // The whole lineup is on the board from the start (VMs idle, containers waiting): laid out
    // once while the page is quiet, not when the race starts and every emulator wants the CPU.
    for (const c of host ? lineup.containers : []) host!.prepareContainer(c.id, c.name, mode);
    this.sessions = host ? [...vmSessions, host] : vmSessions;
    this.warming = !!host && mode === 'warm';
    const ours = () => this.sessions.includes(vmSessions[0] ?? host!);
    // The order of events is core's (runRaceSequence), the same as in `npm run race`.
    await runRaceSequence<MachineSession>({
      mode,
      vms: vmSessions,
      host,
      powerOn: (m) => void m.powerOn(),
      ready: (m) =>
        m.whenFinished().then(
          () => true,
          () => false,
        ),
      // Stopped meanwhile (Race again, another page): this race is over and the board is another's.
      hostBooted: () => {
        if (!ours()) return false;
        this.warming = false;
        return true;
      },
      racing: () => (this.startedEpoch = epochNow()),
      startContainers: (m) => ours() && lineup.containers.forEach((c) => host!.startContainer(c.id, c.name, m)),
      noContainers: (h) => ours() && this.noContainers(h, noContainersMessage(failureOf(h))),
    });
  }

  /** The host did not boot: say so once, and on every container still waiting for it. */
  private noContainers(host: MachineSession, why: string) {
    this.containerError = why;
    for (const c of host.containers) if (c.state === 'waiting') c.fail(why);
  }

  stop(): void {
    for (const s of this.sessions) s.dispose();
    this.sessions = [];
  }

  exportJSON(): string {
    return toJSON(this.results(), formatConfig({ ...this.config, mode: this.mode }), new Date(), navigator.userAgent);
  }

  exportCSV(): string {
    return toCSV(this.results());
  }
}
