/**
 * The one reducer of a machine's events: what a handle on a machine worker keeps of them, the same
 * for the page's card (src/ui/machines/machine-session.svelte.ts, Svelte state) and Node's headless
 * row (src/node/machine.ts). A new machine event is handled here once. How a handle answers whoever
 * waits for the finish (a promise list, a once-settled line) and what it starts at power-on (the
 * page's watchdog) are its hooks.
 */
import type { ContainerUpdate, DownloadProgress, MachineError, MachineEvent, MachineState, MachineStats } from './api.ts';
import type { PanicInfo, PhaseMark } from './phases.ts';
import type { MachineKind } from './profiles.ts';
import { containerFor, powerOnMarks } from './race.ts';

/** A container record of a handle (ContainerSession, HeadlessContainer): updates by channel or name. */
export interface ContainerView {
  channel: number | undefined;
  readonly name: string;
  readonly finish: PhaseMark | undefined;
  /** Set once the container will not finish (the page's `{ message }`, Node's sentence). */
  readonly error: unknown;
  update(u: ContainerUpdate): void;
  fail(message: string): void;
}

/** What a handle keeps of its machine (assignments only, so Svelte's state sees every change). */
export interface MachineView {
  readonly kind: MachineKind;
  state: MachineState | 'crashed';
  /** Set while console back-pressure holds the guest (the worker's 'paused' state). */
  throttled: boolean;
  marks: PhaseMark[];
  finish: PhaseMark | undefined;
  /** Epoch ms of the last power-on (or resume). */
  powerOnEpoch: number | undefined;
  progress: Record<string, DownloadProgress>;
  loadMs: number | undefined;
  /** The worker's last stats report (every 250 ms while powered on). */
  stats: MachineStats | undefined;
  error: MachineError | undefined;
  /** Not fatal: the host runs without its image store. */
  warning: MachineError | undefined;
  panic: PanicInfo | undefined;
  /** Container host: boxd's version once it answered on the mux. */
  boxd: string | undefined;
  readonly containers: readonly ContainerView[];
}

export interface MachineViewHooks {
  /** The finish marker (login:, host ready) appeared. */
  finished(mark: PhaseMark): void;
  /** It will not appear (for now): the guest panicked, the machine failed, or it was powered off before it. */
  unfinished(why: string, cause: 'panic' | 'error' | 'stopped'): void;
  /** A power-on or resume began (the page starts its watchdog). */
  poweredOn?(): void;
}

/**
 * The worker itself is gone (it crashed, was terminated, or went silent): the machine failed, and so
 * did its containers that had not reached their prompt.
 */
export function applyWorkerCrash(view: MachineView, message: string, hooks: Pick<MachineViewHooks, 'unfinished'>): void {
  view.error = { kind: 'worker', message };
  view.state = 'crashed';
  hooks.unfinished(message, 'error');
  failUnfinished(view, `its container host stopped: ${message}`);
}

function failUnfinished(view: MachineView, why: string) {
  for (const c of view.containers) if (!c.finish && !c.error) c.fail(why);
}

/**
 * Apply one worker event to `view`. A kernel panic stays the machine's state (whatever it does
 * after) until it is powered off or on again; a panic or failure of the container host fails its
 * containers that have not reached their prompt.
 */
export function applyMachineEvent(view: MachineView, ev: MachineEvent, hooks: MachineViewHooks): void {
  const failContainers = (why: string) => failUnfinished(view, why);
  switch (ev.name) {
    case 'state':
      view.throttled = ev.data === 'paused';
      if (ev.data === 'paused' || (view.panic && ev.data !== 'stopped')) break;
      view.state = ev.data;
      if (ev.data === 'stopped' && !view.finish) hooks.unfinished('the machine was powered off', 'stopped');
      break;
    case 'progress':
      view.progress = { ...view.progress, [ev.data.file]: ev.data };
      break;
    case 'loaded':
      view.loadMs = ev.data.loadMs;
      break;
    case 'power-on':
      view.finish = undefined;
      view.panic = undefined;
      view.powerOnEpoch = ev.data.epochMs;
      view.marks = powerOnMarks(view.kind, ev.data.resumed);
      hooks.poweredOn?.();
      break;
    case 'phase':
      view.marks = [...view.marks, ev.data];
      break;
    case 'finish':
      view.finish = ev.data;
      hooks.finished(ev.data);
      break;
    case 'panic':
      view.panic = ev.data;
      view.state = 'panic'; // also sent as a state event
      hooks.unfinished(`kernel panic: ${ev.data.line}`, 'panic');
      failContainers('the container host panicked');
      break;
    case 'tail':
      if (view.panic) view.panic = { ...view.panic, tail: ev.data };
      break;
    case 'error':
      view.error = ev.data;
      hooks.unfinished(ev.data.message, 'error');
      failContainers(`the container host failed: ${ev.data.message}`);
      break;
    case 'warning':
      view.warning = ev.data;
      break;
    case 'stats':
      view.stats = ev.data;
      break;
    case 'mux-ready':
      view.boxd = ev.data.version;
      break;
    case 'container':
      containerFor(view.containers, ev.data)?.update(ev.data);
      break;
    case 'snapshot':
      break;
  }
}
