import { describe, it, expect } from 'vitest';
import { rankResults, raceSummary, toCSV, toJSON, type MachineResult } from '../../../src/core/machine/results.ts';

const mark = (phase: string, wallMs: number) => ({ phase, wallMs, instructions: wallMs * 20_000, skipped: [] });

const vm: MachineResult = {
  id: 'vm1',
  name: 'VM 1',
  kind: 'vm',
  status: 'finished',
  bootMs: 2400,
  instructions: 48_000_000,
  loadMs: 120,
  marks: [mark('bios', 0), mark('bootloader', 300), mark('kernel', 500), mark('init', 1900), mark('services', 2100), mark('login', 2400)],
};
const host: MachineResult = {
  id: 'host',
  name: 'Container host',
  kind: 'host',
  status: 'finished',
  bootMs: 1000,
  instructions: 30_000_000,
  marks: [mark('bios', 0), mark('kernel', 200), mark('init', 800), mark('ready', 1000)],
};
const broken: MachineResult = {
  id: 'vm2',
  name: 'VM 2',
  kind: 'vm',
  status: 'error',
  marks: [mark('bios', 0)],
  message: 'disk image "missing.img" not found (HTTP 404), check the URL',
};
const slow: MachineResult = { ...vm, id: 'vm3', name: 'VM 3', bootMs: 3000 };

describe('results', () => {
  const ranked = rankResults([broken, vm, slow, host]);

  it('ranks finished machines fastest first and leaves failures unranked at the end', () => {
    expect(ranked.map((r) => [r.id, r.rank])).toEqual([
      ['host', 1],
      ['vm1', 2],
      ['vm3', 3],
      ['vm2', undefined],
    ]);
  });

  it('explains each row in one line from its own measurements', () => {
    const byId = Object.fromEntries(ranked.map((r) => [r.id, r.explanation]));
    expect(byId.vm1).toMatch(/own kernel/);
    expect(byId.vm1).toMatch(/longest phase Kernel 1,400 ms \(58 %\)/);
    expect(byId.vm1).toMatch(/2\.4× the winner/);
    expect(byId.host).not.toMatch(/winner/);
    expect(byId.vm2).toBe('did not boot: disk image "missing.img" not found (HTTP 404), check the URL');
    for (const e of Object.values(byId)) expect(e).not.toContain('\n');
  });

  it('exports CSV with one column per phase and quoted text', () => {
    const csv = toCSV(ranked).trimEnd().split('\n');
    expect(csv[0]).toBe(
      'rank,id,name,kind,status,boot_ms,own_start_ms,with_host_boot_ms,instructions,load_ms,bios_ms,kernel_ms,init_ms,bootloader_ms,services_ms,explanation',
    );
    expect(csv[2]).toMatch(/^2,vm1,VM 1,vm,finished,2400\.0,,,48000000,120\.0,300\.0,1400\.0,200\.0,200\.0,300\.0,/);
    expect(csv[4]).toBe(',vm2,VM 2,vm,error,,,,,,,,,,,"did not boot: disk image ""missing.img"" not found (HTTP 404), check the URL"');
    expect(csv).toHaveLength(5);
  });

  it('exports JSON that parses back to the same rows', () => {
    const json = JSON.parse(toJSON(ranked, '?vms=3&containers=0&mode=cold', new Date('2026-01-02T03:04:05Z')));
    expect(json).toMatchObject({ app: 'stacklab', version: 1, date: '2026-01-02T03:04:05.000Z', setup: '?vms=3&containers=0&mode=cold' });
    expect(json.results.map((r: { id: string }) => r.id)).toEqual(['host', 'vm1', 'vm3', 'vm2']);
  });
});

describe('race summary', () => {
  it('without containers, compares the container host with the fastest VM, from the figures', () => {
    const lines = raceSummary(rankResults([vm, slow, host, broken]), 'cold');
    expect(lines[0]).toBe('The container host was ready in 1,000 ms; the fastest VM, VM 1, needed 2,400 ms (2.4×).');
    // vm and slow share the marks: bios 300 + bootloader 200 = 500 of 2400 and of 3000 → 21 % and 17 %, mean 19 %.
    expect(lines[1]).toMatch(/^Each VM spent 19 % of its boot in firmware and bootloader/);
    expect(lines[2]).toBe('1 machine did not finish: VM 2.');
  });

  // A cold container: host boot 0–1000, request at 1000, prompt at 1200 (own start 200 ms).
  const c1: MachineResult = {
    id: 'c1',
    name: 'c1',
    kind: 'container',
    status: 'finished',
    bootMs: 1200,
    ownStartMs: 200,
    withHostBootMs: 1200,
    marks: [mark('host', 0), mark('request', 1000), mark('prompt', 1200)],
  };
  const c2: MachineResult = {
    ...c1,
    id: 'c2',
    name: 'c2',
    bootMs: 1150,
    ownStartMs: 60,
    withHostBootMs: 1150,
    marks: [mark('host', 0), mark('request', 1090), mark('prompt', 1150)],
  };

  it('states both figures in a cold race: the fastest own start against the fastest VM, and the host boot inside the race', () => {
    const lines = raceSummary(rankResults([vm, slow, host, c1, c2]), 'cold');
    expect(lines[0]).toBe(
      'Container c2 started in 60 ms, from its request to its prompt; the fastest VM, VM 1, needed 2,400 ms from power-on to login (40.0× as long).',
    );
    expect(lines[1]).toBe(
      "The container host booted once, inside the race, in 1,000 ms: paid once for all 2 containers; with that boot, c2 took 1,150 ms, against the fastest VM's 2,400 ms (2.1×).",
    );
  });

  it('in a warm race, the host boot is the one before the race; a resumed host says so', () => {
    expect(raceSummary(rankResults([vm, host, { ...c2, bootMs: 60, withHostBootMs: 1060 }]), 'warm')[1]).toBe(
      "The container host booted once, before the race, in 1,000 ms: paid once for its one container; with that boot, c2 took 1,060 ms, against the fastest VM's 2,400 ms (2.3×).",
    );
    const resumed = { ...host, bootMs: 190, marks: [mark('resume', 0), mark('ready', 190)] };
    expect(raceSummary(rankResults([resumed, c2]), 'warm')).toEqual([
      'Container c2 started in 60 ms, from its request to its prompt.',
      'The container host was resumed from its saved state once, before the race, in 190 ms: paid once for its one container; with that boot, c2 took 1,150 ms.',
    ]);
  });

  it('says nothing it did not measure', () => {
    expect(raceSummary(rankResults([broken]), 'warm')).toEqual(['1 machine did not finish: VM 2.']);
    // A container still starting has no own start to compare.
    expect(raceSummary(rankResults([vm, { ...c1, status: 'running', bootMs: undefined, ownStartMs: undefined, withHostBootMs: undefined }]), 'warm')[0]).toBe(
      'Fastest VM: VM 1 in 2,400 ms.',
    );
  });
});
