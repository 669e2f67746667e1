/**
 * A race: a set of machines powered on at the same moment, and their ranked results.
 * Machines are created fresh for every start so each race measures cold boots.
 */
import { formatConfig, rankResults, toCSV, toJSON, type LabConfig, type RankedResult } from '../../core/machine/index.ts';
import { MachineSession, machineUrls } from '../machines/index.ts';
import { epochNow } from '../shared/index.ts';

/** Containers need the box runtime over the mux; until it is wired in, the race shows the host boot. */
export const CONTAINERS_AVAILABLE = false;

export class Race {
  sessions = $state<MachineSession[]>([]);
  startedEpoch = $state<number | undefined>();

  constructor(public config: LabConfig) {}

  get running(): boolean {
    return this.sessions.some((s) => s.live && !s.finish);
  }

  get done(): boolean {
    return this.sessions.length > 0 && this.sessions.every((s) => s.finish || s.error || s.panic || s.state === 'crashed');
  }

  /** Longest wall time on the board, so every timeline shares one scale. */
  scaleMs(now: number): number {
    return Math.max(1, ...this.sessions.map((s) => s.elapsedMs(now) ?? 0));
  }

  results(): RankedResult[] {
    return rankResults(this.sessions.map((s) => s.result()));
  }

  /** Power everything on at once: one call per worker, none waits for another. */
  start(): void {
    this.stop();
    const sessions: MachineSession[] = [];
    for (let i = 1; i <= this.config.vms; i++) {
      sessions.push(new MachineSession({ id: `vm${i}`, name: `VM ${i}`, kind: 'vm', urls: machineUrls({ vmDisk: this.config.vmDisks[i] }) }));
    }
    if (this.config.containers > 0) {
      sessions.push(new MachineSession({ id: 'host', name: 'Container host', kind: 'host', urls: machineUrls() }));
    }
    this.sessions = sessions;
    this.startedEpoch = epochNow();
    for (const s of sessions) void s.powerOn();
  }

  stop(): void {
    for (const s of this.sessions) s.dispose();
    this.sessions = [];
  }

  exportJSON(): string {
    return toJSON(this.results(), formatConfig(this.config), new Date(), navigator.userAgent);
  }

  exportCSV(): string {
    return toCSV(this.results());
  }
}
