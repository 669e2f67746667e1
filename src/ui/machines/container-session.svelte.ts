/**
 * One container on the container host, as the page sees it: its mux terminal, its start phases and
 * its timer. Cold starts count from the host's power-on (the host boot is the first phase); warm
 * starts count from the request.
 */
import {
  applyContainerUpdate,
  CONTAINER_PHASES,
  containerResult,
  type ContainerProgress,
  type ContainerUpdate,
  type MachineResult,
  type PhaseMark,
} from '../../core/machine/index.ts';
import { TerminalSession } from '../terminal/terminal-session.ts';
import { epochNow } from '../shared/clock.svelte.ts';

export type ContainerStartMode = 'cold' | 'warm';

export interface ContainerLinks {
  input(channel: number, bytes: Uint8Array): void;
  credit(channel: number, bytes: number): void;
  resize(channel: number, cols: number, rows: number): void;
}

export class ContainerSession implements ContainerProgress {
  readonly kind = 'container' as const;
  readonly title = 'Container';
  readonly phases = CONTAINER_PHASES;
  readonly terminal: TerminalSession;
  channel = $state<number | undefined>();
  /** 'waiting': on the board before its start was asked for (a race lays its lineup out early). */
  state = $state<ContainerUpdate['state'] | 'requested' | 'waiting'>('requested');
  marks = $state<PhaseMark[]>([]);
  finish = $state<PhaseMark | undefined>();
  error = $state<{ message: string } | undefined>();
  pid = $state<number | undefined>();
  /** The image it runs, once the host said (for "Download image"). */
  image = $state<string | undefined>();
  exitMessage = $state<string | undefined>();
  /** Host guest instructions up to the prompt, on the timer's basis (see containerInstructions). */
  instructions = $state<number | undefined>();
  /** Back from a snapshot: it was started before the save, so it has no start of its own to time. */
  resumed = $state(false);
  /** Epoch ms the timer counts from. */
  startEpoch = $state(epochNow());
  readonly panic = undefined;
  readonly throttled = false;
  readonly stats = undefined;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly mode: ContainerStartMode,
    /** Host power-on (cold) or the request (warm), epoch ms. */
    startEpoch: number,
    private readonly links: ContainerLinks,
  ) {
    this.startEpoch = startEpoch;
    this.terminal = new TerminalSession({
      input: (bytes) => this.channel !== undefined && links.input(this.channel, bytes),
      credit: (bytes) => this.channel !== undefined && links.credit(this.channel, bytes),
      resize: (cols, rows) => this.channel !== undefined && links.resize(this.channel, cols, rows),
    });
  }

  /** Type into the container's terminal, as if on its keyboard (a lesson's "Show me"). */
  type(text: string): void {
    if (this.channel !== undefined) this.links.input(this.channel, new TextEncoder().encode(text));
  }

  get live(): boolean {
    return this.state === 'requested' || this.state === 'starting';
  }

  elapsedMs(now: number): number | undefined {
    if (this.finish) return this.finish.wallMs;
    if (this.error || this.state === 'waiting') return undefined;
    return Math.max(0, now - this.startEpoch);
  }

  /** Its start is asked for now; its timer counts from `startEpoch` (the host's power-on when cold). */
  requested(startEpoch: number): void {
    this.state = 'requested';
    this.startEpoch = startEpoch;
  }

  /** Apply the worker's news about this container. */
  update(u: ContainerUpdate): void {
    this.state = u.state;
    if (u.image) this.image = u.image;
    if (u.state === 'error') this.error = { message: u.message ?? 'the container did not start' };
    if (u.state === 'exited') this.exitMessage = u.message;
    applyContainerUpdate(this, u);
  }

  fail(message: string): void {
    this.error = { message };
    this.state = 'error';
  }

  result(): MachineResult {
    return containerResult(this, this.error?.message);
  }

  dispose(): void {
    this.terminal.dispose();
  }
}
