// The one event reducer of the page's card and Node's headless row.
import { describe, it, expect } from 'vitest';
import { applyMachineEvent, applyWorkerCrash, type ContainerView, type MachineView, type MachineViewHooks } from './machine-view.ts';
import type { ContainerUpdate, MachineEvent } from './api.ts';
import type { PhaseMark } from './phases.ts';

class Box implements ContainerView {
  channel: number | undefined;
  finish: PhaseMark | undefined;
  error: string | undefined;
  updates: ContainerUpdate[] = [];
  constructor(readonly name: string) {}
  update(u: ContainerUpdate) {
    this.channel = u.channel;
    this.updates.push(u);
  }
  fail(message: string) {
    this.error = message;
  }
}

function view(containers: Box[] = []): MachineView {
  return {
    kind: 'host',
    state: 'idle',
    throttled: false,
    marks: [],
    finish: undefined,
    powerOnEpoch: undefined,
    progress: {},
    loadMs: undefined,
    stats: undefined,
    error: undefined,
    warning: undefined,
    panic: undefined,
    boxd: undefined,
    containers,
  };
}

function recorder() {
  const seen: string[] = [];
  const hooks: MachineViewHooks = {
    finished: (m) => seen.push(`finished ${m.phase}`),
    unfinished: (why, cause) => seen.push(`${cause}: ${why}`),
    poweredOn: () => seen.push('powered on'),
  };
  return { seen, hooks };
}

const mark = (phase: string, wallMs = 1): PhaseMark => ({ phase, wallMs, instructions: 10, skipped: [] });
const apply = (v: MachineView, hooks: MachineViewHooks, ...events: MachineEvent[]) => events.forEach((e) => applyMachineEvent(v, e, hooks));

describe('applyMachineEvent', () => {
  it('power-on starts a fresh timeline; phases and the finish follow', () => {
    const v = view();
    const { seen, hooks } = recorder();
    apply(v, hooks, { name: 'power-on', data: { epochMs: 5 } }, { name: 'phase', data: mark('kernel') }, { name: 'finish', data: mark('ready', 9) });
    expect(v.marks.map((m) => m.phase)).toEqual(['bios', 'kernel']);
    expect(v.finish?.wallMs).toBe(9);
    expect(v.powerOnEpoch).toBe(5);
    expect(seen).toEqual(['powered on', 'finished ready']);
    apply(v, hooks, { name: 'power-on', data: { epochMs: 7, resumed: true } });
    expect(v.finish).toBeUndefined();
    expect(v.marks.map((m) => m.phase)).toEqual(['resume']);
  });

  it('a panic stays the state until power-off, and fails the containers still starting', () => {
    const starting = new Box('c1');
    const up = new Box('c2');
    up.finish = mark('prompt');
    const v = view([starting, up]);
    const { seen, hooks } = recorder();
    apply(v, hooks, { name: 'state', data: 'booting' }, { name: 'panic', data: { line: 'Kernel panic - not syncing', wallMs: 1, instructions: 2, tail: [] } });
    expect(v.state).toBe('panic');
    apply(v, hooks, { name: 'state', data: 'error' }, { name: 'state', data: 'paused' });
    expect(v.state).toBe('panic');
    expect(v.throttled).toBe(true);
    expect(seen).toEqual(['panic: kernel panic: Kernel panic - not syncing']);
    expect(starting.error).toBe('the container host panicked');
    expect(up.error).toBeUndefined();
    apply(v, hooks, { name: 'tail', data: ['Call Trace:'] });
    expect(v.panic?.tail).toEqual(['Call Trace:']);
    apply(v, hooks, { name: 'state', data: 'stopped' });
    expect(v.state).toBe('stopped');
  });

  it('a power-off before the finish answers its waiters; updates find their container by name, then channel', () => {
    const c = new Box('web-1');
    const v = view([c]);
    const { seen, hooks } = recorder();
    apply(
      v,
      hooks,
      { name: 'container', data: { channel: 3, name: 'web-1', state: 'starting' } },
      { name: 'container', data: { channel: 3, name: 'other', state: 'running' } },
    );
    expect(c.updates.map((u) => u.state)).toEqual(['starting', 'running']);
    apply(v, hooks, { name: 'mux-ready', data: { version: 'boxd 1' } }, { name: 'state', data: 'stopped' });
    expect(v.boxd).toBe('boxd 1');
    expect(seen).toEqual(['stopped: the machine was powered off']);
  });

  it('a crashed worker fails the machine and its unfinished containers', () => {
    const c = new Box('c1');
    const v = view([c]);
    const { seen, hooks } = recorder();
    applyWorkerCrash(v, "the machine's worker exited (code 1)", hooks);
    expect(v.state).toBe('crashed');
    expect(v.error).toEqual({ kind: 'worker', message: "the machine's worker exited (code 1)" });
    expect(seen).toEqual(["error: the machine's worker exited (code 1)"]);
    expect(c.error).toMatch(/its container host stopped/);
  });
});
