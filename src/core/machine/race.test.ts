import { describe, expect, it } from 'vitest';
import {
  applyContainerUpdate,
  failureOf,
  noContainersMessage,
  raceMachines,
  containerFor,
  ownStartMs,
  runRaceSequence,
  type RaceStage,
  containerInstructions,
  containerResult,
  containerTimeline,
  machineResult,
  machineStatus,
  powerOnMarks,
  raceLineup,
  rankRace,
  requestContainerStart,
  type ContainerProgress,
} from './race.ts';
import type { ContainerUpdate } from './api.ts';
import type { MachineResult } from './results.ts';

const mark = (phase: string, wallMs: number) => ({ phase, wallMs, instructions: 0, skipped: [] });

describe('race rules', () => {
  it('names the racers as the page does', () => {
    const l = raceLineup({ vms: 2, containers: 3 });
    expect(l.vms.map((v) => [v.id, v.name, v.number])).toEqual([
      ['vm1', 'VM 1', 1],
      ['vm2', 'VM 2', 2],
    ]);
    expect(l.host?.id).toBe('host');
    expect(l.containers.map((c) => c.name)).toEqual(['c1', 'c2', 'c3']);
    expect(raceLineup({ vms: 1, containers: 0 }).host).toBeUndefined();
  });

  it('puts the host boot first on a cold container timeline, not on a warm one', () => {
    const u: ContainerUpdate = {
      channel: 1,
      name: 'c1',
      state: 'running',
      requestedAtMs: 900,
      marks: [mark('request', 0), mark('prompt', 40)],
      instructions: 5e6,
      requestedAtInstructions: 6e7,
    };
    const cold = containerTimeline(u, 'cold', { marks: [], finished: false })!;
    expect(cold.finished).toBe(true);
    expect(cold.marks.map((m) => [m.phase, m.wallMs])).toEqual([
      ['host', 0],
      ['request', 900],
      ['prompt', 940],
    ]);
    const warm = containerTimeline(u, 'warm', { marks: [], finished: false })!;
    expect(warm.marks.map((m) => [m.phase, m.wallMs])).toEqual([
      ['request', 0],
      ['prompt', 40],
    ]);
    expect(containerInstructions(u, 'cold')).toBe(6.5e7);
    expect(containerInstructions(u, 'warm')).toBe(5e6);
    expect(containerTimeline(u, 'cold', { marks: cold.marks, finished: true })).toBeUndefined();
  });

  it('shows a starting container at its request', () => {
    const u: ContainerUpdate = { channel: 2, name: 'c2', state: 'starting', requestedAtMs: 700 };
    expect(containerTimeline(u, 'cold', { marks: [], finished: false })).toEqual({ marks: [mark('host', 0), mark('request', 700)], finished: false });
    expect(containerInstructions(u, 'cold')).toBeUndefined();
  });

  it('a warm race: the host row first, paid once and unranked; containers ranked by their own start, with the host boot added', () => {
    const r = (id: string, kind: MachineResult['kind'], bootMs: number, extra: Partial<MachineResult> = {}): MachineResult => ({
      id,
      name: id,
      kind,
      status: 'finished',
      bootMs,
      marks: [mark('bios', 0), mark('ready', bootMs)],
      ...extra,
    });
    const rows = [r('vm1', 'vm', 3000), r('host', 'host', 1000), r('c1', 'container', 50, { ownStartMs: 50 }), r('c2', 'container', 70, { ownStartMs: 70 })];
    const warm = rankRace('warm', rows);
    expect(warm.map((x) => [x.id, x.rank, x.beforeRace ?? false])).toEqual([
      ['host', undefined, true],
      ['c1', 1, false],
      ['c2', 2, false],
      ['vm1', 3, false],
    ]);
    expect(warm[0].explanation).toMatch(/^booted before the race, once for all 2 containers \(not ranked\); one kernel boots once/);
    expect(warm.find((x) => x.id === 'c1')!.withHostBootMs).toBe(1050);
    // Cold: every row from power-on, the host ranked too; a container's time already includes the host's boot.
    const cold = rankRace('cold', [r('vm1', 'vm', 3000), r('host', 'host', 1000), r('c1', 'container', 1100, { ownStartMs: 50 })]);
    expect(cold.map((x) => [x.id, x.rank])).toEqual([
      ['host', 1],
      ['c1', 2],
      ['vm1', 3],
    ]);
    expect(cold.find((x) => x.id === 'c1')!.withHostBootMs).toBe(1100);
    // A host that did not boot: no figure including its boot, and its row says why.
    const failed = rankRace('warm', [{ ...rows[1], status: 'error', bootMs: undefined, message: 'no bzImage' }, rows[2]]);
    expect(failed[0]).toMatchObject({ id: 'host', beforeRace: true, explanation: 'did not boot: no bzImage' });
    expect(failed[1].withHostBootMs).toBeUndefined();
  });

  it("a container's own start is request → prompt on either timeline", () => {
    expect(ownStartMs([mark('host', 0), mark('request', 900), mark('exec', 930), mark('prompt', 960)], mark('prompt', 960))).toBe(60);
    expect(ownStartMs([mark('request', 0), mark('prompt', 45)], mark('prompt', 45))).toBe(45);
    expect(ownStartMs([mark('request', 0)], undefined)).toBeUndefined();
  });

  it('derives a row status from the worker state', () => {
    expect(machineStatus('crashed', false)).toBe('error');
    expect(machineStatus('panic', true)).toBe('panic');
    expect(machineStatus('finished', true)).toBe('finished');
    expect(machineStatus('booting', false)).toBe('running');
    expect(machineStatus('stopped', false)).toBe('stopped');
  });

  it('a container record follows its updates to the prompt, and its row copies the marks', () => {
    const c: ContainerProgress = {
      id: 'c1',
      name: 'c1',
      mode: 'cold',
      channel: undefined,
      pid: undefined,
      marks: [],
      finish: undefined,
      instructions: undefined,
    };
    expect(applyContainerUpdate(c, { channel: 3, name: 'c1', state: 'starting', requestedAtMs: 500 })).toBe(false);
    expect([c.channel, c.marks.map((m) => m.phase)]).toEqual([3, ['host', 'request']]);
    expect(containerResult(c, undefined)).toMatchObject({ status: 'running', bootMs: undefined });
    const done: ContainerUpdate = {
      channel: 3,
      name: 'c1',
      state: 'running',
      pid: 41,
      requestedAtMs: 500,
      marks: [mark('request', 0), mark('prompt', 60)],
      instructions: 2e6,
      requestedAtInstructions: 3e7,
    };
    expect(applyContainerUpdate(c, done)).toBe(true);
    expect(applyContainerUpdate(c, done)).toBe(false); // the prompt counts once
    const row = containerResult(c, undefined);
    expect(row).toMatchObject({ id: 'c1', kind: 'container', status: 'finished', bootMs: 560, ownStartMs: 60, instructions: 3.2e7, pid: 41 });
    expect(row.marks).toEqual(c.marks);
    expect(row.marks[0]).not.toBe(c.marks[0]);
    expect(containerResult(c, 'boxd refused')).toMatchObject({ status: 'error', message: 'boxd refused' });
  });

  it('a machine row: time and instructions at the finish, the panic line as its message', () => {
    const finish = { ...mark('login', 2400), instructions: 7.8e7 };
    const vm = {
      id: 'vm1',
      name: 'VM 1',
      kind: 'vm' as const,
      state: 'finished' as const,
      finish,
      marks: [mark('bios', 0), finish],
      loadMs: 90,
      error: undefined,
      panic: undefined,
    };
    expect(machineResult(vm)).toMatchObject({ status: 'finished', bootMs: 2400, instructions: 7.8e7, loadMs: 90 });
    const panic = { line: 'Kernel panic - not syncing: sysrq triggered crash', tail: [], wallMs: 900, instructions: 1 };
    expect(machineResult({ ...vm, state: 'panic', finish: undefined, panic })).toMatchObject({ status: 'panic', bootMs: undefined, message: panic.line });
  });

  it('a container start request: the reply brings the channel, a refusal or no worker fails it', async () => {
    const card = () => ({
      channel: undefined as number | undefined,
      failed: '',
      fail(m: string) {
        this.failed = m;
      },
    });
    const ok = card();
    requestContainerStart({ startContainer: async (name) => (name === 'c1' ? 7 : 0) }, ok, 'c1');
    await Promise.resolve();
    await Promise.resolve();
    expect([ok.channel, ok.failed]).toEqual([7, '']);
    const refused = card();
    requestContainerStart({ startContainer: () => Promise.reject(new Error('boxd: no such image')) }, refused, 'c2');
    await expect.poll(() => refused.failed).toBe('boxd: no such image');
    const orphan = card();
    requestContainerStart(undefined, orphan, 'c3');
    expect(orphan.failed).toBe('the container host is not running');
  });

  it('power-on starts the timeline with the first boot phase, or the resume segment', () => {
    expect(powerOnMarks('vm', false)).toEqual([mark('bios', 0)]);
    expect(powerOnMarks('host', true)).toEqual([mark('resume', 0)]);
  });

  it('an update finds its container by channel, or by name until the channel is known', () => {
    const list = [
      { channel: 3, name: 'c1' },
      { channel: undefined, name: 'c2' },
    ];
    expect(containerFor(list, { channel: 3, name: 'c1', state: 'running' })).toBe(list[0]);
    expect(containerFor(list, { channel: 4, name: 'c2', state: 'starting' })).toBe(list[1]);
    expect(containerFor(list, { channel: 5, name: 'c9', state: 'starting' })).toBeUndefined();
  });

  describe('the order of a race (page and headless)', () => {
    /** A stage whose machines become ready when the test says so; every call is logged. */
    function stage(mode: 'warm' | 'cold', hostBoots = true) {
      const log: string[] = [];
      const readiness = new Map<string, (ok: boolean) => void>();
      const s: RaceStage<string> = {
        mode,
        vms: ['vm1', 'vm2'],
        host: 'host',
        powerOn: (m) => log.push(`on ${m}`),
        ready: (m) => new Promise((res) => readiness.set(m, res)),
        racing: () => log.push('racing'),
        startContainers: (m) => log.push(`containers ${m}`),
        noContainers: (h) => log.push(`no containers (${h})`),
      };
      const settle = async (m: string) => {
        await Promise.resolve();
        readiness.get(m)!(hostBoots);
        for (let i = 0; i < 5; i++) await Promise.resolve();
      };
      return { s, log, settle };
    }

    it('warm: the host boots alone first; then the VMs power on and the containers start together', async () => {
      const { s, log, settle } = stage('warm');
      const done = runRaceSequence(s);
      expect(log).toEqual(['on host']);
      await settle('host');
      await done;
      expect(log).toEqual(['on host', 'racing', 'on vm1', 'on vm2', 'containers warm']);
    });

    it('cold: everything powers on at once; the containers start when the host is ready', async () => {
      const { s, log, settle } = stage('cold');
      const done = runRaceSequence(s);
      expect(log).toEqual(['racing', 'on vm1', 'on vm2', 'on host']);
      await settle('host');
      await done;
      expect(log.at(-1)).toBe('containers cold');
    });

    it('a host that does not boot: no containers, the VMs race anyway; a stopped warm-up ends it', async () => {
      const warm = stage('warm', false);
      const w = runRaceSequence(warm.s);
      await warm.settle('host');
      await w;
      expect(warm.log).toEqual(['on host', 'no containers (host)', 'racing', 'on vm1', 'on vm2']);
      const stopped = stage('warm');
      stopped.s.hostBooted = () => false;
      const st = runRaceSequence(stopped.s);
      await stopped.settle('host');
      await st;
      expect(stopped.log).toEqual(['on host']);
    });
  });
});

describe('raceMachines, failureOf', () => {
  it('makes each VM with its own disk and asks a warm race’s host to start warm', () => {
    const made: string[] = [];
    const { vms, host, lineup } = raceMachines({ vms: 2, containers: 1, mode: 'warm', vmDisks: { 2: 'other.img' } } as never, (spec, o) => {
      made.push(`${spec.id}:${o.vmDisk ?? '-'}:${o.warm}`);
      return spec.id;
    });
    expect(made).toEqual(['vm1:-:false', 'vm2:other.img:false', 'host:-:true']);
    expect([vms, host, lineup.containers.map((c) => c.name)]).toEqual([['vm1', 'vm2'], 'host', ['c1']]);
    expect(raceMachines({ vms: 1, containers: 0, mode: 'cold', vmDisks: {} } as never, (s) => s.id).host).toBeUndefined();
  });

  it('names why a machine will not finish: its error, then its panic', () => {
    expect(failureOf({ error: { kind: 'download', message: '404' }, panic: { line: 'Kernel panic', wallMs: 1, instructions: 1, tail: [] } })).toBe('404');
    expect(failureOf({ panic: { line: 'Kernel panic - x', wallMs: 1, instructions: 1, tail: [] } })).toBe('kernel panic: Kernel panic - x');
    expect(failureOf({}, 'did not finish')).toBe('did not finish');
    expect(noContainersMessage('it stopped')).toBe('no containers: the container host did not boot (it stopped)');
  });
});
