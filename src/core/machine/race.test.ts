import { describe, expect, it } from 'vitest';
import { containerInstructions, containerTimeline, machineStatus, raceLineup, rankRace } from './race.ts';
import type { ContainerUpdate } from './api.ts';
import type { MachineResult } from './results.ts';

const mark = (phase: string, wallMs: number) => ({ phase, wallMs, instructions: 0, skipped: [] });

describe('race rules', () => {
  it('names the racers as the page does', () => {
    const l = raceLineup({ vms: 2, containers: 3 });
    expect(l.vms.map((v) => [v.id, v.name, v.number])).toEqual([['vm1', 'VM 1', 1], ['vm2', 'VM 2', 2]]);
    expect(l.host?.id).toBe('host');
    expect(l.containers.map((c) => c.name)).toEqual(['c1', 'c2', 'c3']);
    expect(raceLineup({ vms: 1, containers: 0 }).host).toBeUndefined();
  });

  it('puts the host boot first on a cold container timeline, not on a warm one', () => {
    const u: ContainerUpdate = { channel: 1, name: 'c1', state: 'running', requestedAtMs: 900, marks: [mark('request', 0), mark('prompt', 40)], instructions: 5e6, requestedAtInstructions: 6e7 };
    const cold = containerTimeline(u, 'cold', { marks: [], finished: false })!;
    expect(cold.finished).toBe(true);
    expect(cold.marks.map((m) => [m.phase, m.wallMs])).toEqual([['host', 0], ['request', 900], ['prompt', 940]]);
    const warm = containerTimeline(u, 'warm', { marks: [], finished: false })!;
    expect(warm.marks.map((m) => [m.phase, m.wallMs])).toEqual([['request', 0], ['prompt', 40]]);
    expect(containerInstructions(u, 'cold')).toBe(6.5e7);
    expect(containerInstructions(u, 'warm')).toBe(5e6);
    expect(containerTimeline(u, 'cold', { marks: cold.marks, finished: true })).toBeUndefined();
  });

  it('shows a starting container at its request', () => {
    const u: ContainerUpdate = { channel: 2, name: 'c2', state: 'starting', requestedAtMs: 700 };
    expect(containerTimeline(u, 'cold', { marks: [], finished: false })).toEqual({ marks: [mark('host', 0), mark('request', 700)], finished: false });
    expect(containerInstructions(u, 'cold')).toBeUndefined();
  });

  it('ranks a warm race without the pre-booted host', () => {
    const r = (id: string, kind: MachineResult['kind'], bootMs: number): MachineResult => ({ id, name: id, kind, status: 'finished', bootMs, marks: [] });
    const rows = [r('vm1', 'vm', 3000), r('host', 'host', 1000), r('c1', 'container', 50)];
    expect(rankRace('warm', rows).map((x) => x.id)).toEqual(['c1', 'vm1']);
    expect(rankRace('cold', rows).map((x) => x.id)).toEqual(['c1', 'host', 'vm1']);
  });

  it('derives a row status from the worker state', () => {
    expect(machineStatus('crashed', false)).toBe('error');
    expect(machineStatus('panic', true)).toBe('panic');
    expect(machineStatus('finished', true)).toBe('finished');
    expect(machineStatus('booting', false)).toBe('running');
    expect(machineStatus('stopped', false)).toBe('stopped');
  });
});
