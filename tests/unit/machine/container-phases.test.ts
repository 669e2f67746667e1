import { describe, it, expect } from 'vitest';
import { containerMarks, CONTAINER_PHASES, type StartedInfo } from '../../../src/core/machine/container-phases.ts';
import { phaseDurations } from '../../../src/core/machine/phases.ts';

const ms = (x: number) => BigInt(Math.round(x * 1e6));
const T0 = 5_000_000_000n; // guest monotonic clock at the request, 5 s after its boot

describe('container phases from STARTED / FIRST_OUTPUT', () => {
  // received, layers +1 ms, namespaces +4, mounts +2, cgroup +1, network +3, exec +0.5; first output 2.5 ms after exec.
  const stamps = [T0, T0 + ms(1), T0 + ms(5), T0 + ms(7), T0 + ms(8), T0 + ms(11), T0 + ms(11.5)];
  const info: StartedInfo = { pid: 4242, phases: stamps.map((ns) => ({ ns })) };
  const firstOutputNs = T0 + ms(14);

  it('lays a warm start out from the request to the prompt', () => {
    const marks = containerMarks({ requestWallMs: 20, started: info, firstOutputNs });
    expect(marks.map((m) => m.phase)).toEqual(['request', 'layers', 'namespaces', 'mounts', 'cgroup', 'network', 'exec', 'prompt']);
    const d = Object.fromEntries(phaseDurations(marks).map((p) => [p.phase, +p.wallMs.toFixed(3)]));
    // 20 ms on the page clock, 14 ms accounted for by boxd: 6 ms on the mux.
    expect(d).toEqual({ request: 6, layers: 1, namespaces: 4, mounts: 2, cgroup: 1, network: 3, exec: 3 });
    expect(marks.at(-1)!.wallMs).toBe(20);
    expect(CONTAINER_PHASES.map((p) => p.name)).toEqual(expect.arrayContaining(marks.map((m) => m.phase)));
  });

  it('puts the host boot first for a cold start', () => {
    const marks = containerMarks({ hostBootMs: 900, requestWallMs: 20, started: info, firstOutputNs });
    expect(marks[0]).toMatchObject({ phase: 'host', wallMs: 0 });
    expect(marks[1]).toMatchObject({ phase: 'request', wallMs: 900 });
    expect(marks.at(-1)!.wallMs).toBe(920);
  });

  it('never gives the request a negative time when the guest clock runs fast', () => {
    const marks = containerMarks({ requestWallMs: 10, started: info, firstOutputNs });
    expect(phaseDurations(marks)[0]).toMatchObject({ phase: 'request', wallMs: 0 });
  });

  it('rejects inconsistent stamps with a clear message', () => {
    expect(() => containerMarks({ requestWallMs: 5, started: { pid: 1, phases: [] }, firstOutputNs })).toThrow(/no stamps/);
    expect(() => containerMarks({ requestWallMs: 5, started: info, firstOutputNs: T0 - 1n })).toThrow(/before the request/);
  });
});
