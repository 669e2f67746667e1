import { describe, it, expect } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import { MARKERS } from '../../../src/core/markers.ts';
import {
  PhaseDetector,
  VM_PHASES,
  HOST_PHASES,
  phaseDurations,
  phaseLabel,
  phasesOf,
  stripAnsi,
  type PhaseMark,
  type PanicInfo,
} from '../../../src/core/machine/phases.ts';
import { CONTAINER_PHASES } from '../../../src/core/machine/container-phases.ts';
import { phasesOfKind } from '../../../src/core/machine/results.ts';

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/${name}`, import.meta.url)));
/** VM transcripts: a real boot recorded with fixtures/capture-console.ts, a hand-written one, and the lead's boot-test logs when present. */
const VM_LOGS: [string, Uint8Array][] = [
  ['real VM boot (SeaBIOS, SYSLINUX, Linux 6.1 in v86)', fixture('vm-boot.serial')],
  ['hand-written VM transcript', fixture('vm-boot.handwritten.serial')],
  ...(existsSync(new URL('../../boot/logs/vm.serial', import.meta.url))
    ? [['boot test log', new Uint8Array(readFileSync(new URL('../../boot/logs/vm.serial', import.meta.url)))] as [string, Uint8Array]]
    : []),
];

/** A fake clock where time is the number of bytes fed so far: 1 ms and 1000 instructions per byte. */
function feed(phases: typeof VM_PHASES, bytes: Uint8Array) {
  let fed = 0;
  const marks: PhaseMark[] = [];
  const panics: PanicInfo[] = [];
  const d = new PhaseDetector(phases, () => ({ wallMs: fed, instructions: fed * 1000 }), {
    phase: (m) => marks.push(m),
    panic: (p) => panics.push(p),
  });
  for (const b of bytes) {
    fed++;
    d.pushByte(b);
  }
  return { d, marks, panics };
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);
/** Byte count up to and including the first match of `s`. */
const endOf = (b: Uint8Array, s: string | RegExp) => {
  const m = typeof s === 'string' ? { index: text(b).indexOf(s), 0: s } : s.exec(text(b));
  if (!m || m.index < 0) throw new Error(`fixture lacks ${s}`);
  return m.index + m[0].length;
};

describe('PhaseDetector on a real container host boot (Linux 6.12, v86 in Node)', () => {
  const log = fixture('host-boot.serial');
  const { d, marks } = feed(HOST_PHASES, log);

  it('passes every host phase in order and finishes', () => {
    expect(marks.map((m) => m.phase)).toEqual(['kernel', 'init', 'ready']);
    expect(d.finished).toBe(true);
  });

  it('stamps each phase at the byte that completes its marker', () => {
    expect(marks[0].wallMs).toBe(endOf(log, MARKERS.kernel));
    expect(marks[1].wallMs).toBe(endOf(log, '[stacklab] init'));
    expect(marks[2].wallMs).toBe(endOf(log, '[stacklab] host ready'));
    expect(marks[2].instructions).toBe(marks[2].wallMs * 1000);
  });

  it('reports boxd as skipped when the image has none', () => {
    const hasBoxd = text(log).includes('[stacklab] boxd');
    expect(marks.find((m) => m.phase === 'ready')!.skipped).toEqual(hasBoxd ? [] : ['boxd']);
  });

  it('keeps the console tail without escape sequences', () => {
    const tail = d.consoleTail();
    expect(tail.at(-1)).toBe('host:/#');
    expect(tail.join('\n')).not.toContain('\x1b');
  });
});

describe.each(VM_LOGS)('PhaseDetector on a %s', (_name, log) => {
  const { d, marks } = feed(VM_PHASES, log);

  it('passes bootloader, kernel, init, services and login', () => {
    expect(marks.map((m) => m.phase)).toEqual(['bootloader', 'kernel', 'init', 'services', 'login']);
    expect(d.finished).toBe(true);
  });

  it('sees the login prompt before any newline follows it', () => {
    expect(marks.at(-1)!.wallMs).toBeLessThanOrEqual(log.length);
    expect(text(log.subarray(0, marks.at(-1)!.wallMs))).toMatch(/login: ?$/);
  });

  it('gives durations that add up to the boot time', () => {
    const all: PhaseMark[] = [{ phase: 'bios', wallMs: 0, instructions: 0, skipped: [] }, ...marks];
    const parts = phaseDurations(all);
    expect(parts.map((p) => p.phase)).toEqual(['bios', 'bootloader', 'kernel', 'init', 'services']);
    expect(parts.reduce((n, p) => n + p.wallMs, 0)).toBe(marks.at(-1)!.wallMs);
  });

  it('gets the same marks whatever the chunking', () => {
    const d2 = new PhaseDetector(VM_PHASES, () => ({ wallMs: 0, instructions: 0 }));
    for (let i = 0; i < log.length; i += 7) d2.push(log.subarray(i, i + 7));
    expect(d2.marks.map((m) => m.phase)).toEqual(d.marks.map((m) => m.phase));
  });
});

describe('PhaseDetector edge cases', () => {
  const enc = (s: string) => new TextEncoder().encode(s);

  it('does not finish on a partial marker', () => {
    const { d, marks } = feed(VM_PHASES, enc('SYSLINUX 6.04\r\nDecompressing Linux... done\r\nstacklab logi'));
    expect(marks.map((m) => m.phase)).toEqual(['bootloader', 'kernel']);
    expect(d.finished).toBe(false);
  });

  it('reports a kernel panic once, with the last console lines', () => {
    const log = enc(
      'Linux version 6.12\r\n[stacklab] init\r\nsome line\r\nKernel panic - not syncing: Attempted to kill init! exitcode=0x00000100\r\n---[ end Kernel panic ]---\r\nKernel panic - not syncing: again\r\n',
    );
    const { panics, d } = feed(HOST_PHASES, log);
    expect(panics).toHaveLength(1);
    expect(panics[0].line).toBe('Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100');
    expect(panics[0].tail).toContain('some line');
    expect(d.hasPanicked).toBe(true);
  });

  it('refuses a phase table whose first phase has a marker', () => {
    expect(() => new PhaseDetector([{ name: 'x', label: 'x', what: 'x', marker: /x/ }], () => ({ wallMs: 0, instructions: 0 }))).toThrow(/power-on/);
  });

  it('strips colour and cursor escapes', () => {
    expect(stripAnsi('\x1b[1;32mok\x1b[0m \x1b[6n')).toBe('ok ');
  });

  it("strips the shells' prompt marks (OSC 133, ST or BEL), so a marked prompt reads as its text", () => {
    expect(stripAnsi('\x1b]133;D;0\x1b\\\x1b]133;A\x1b\\vm:/root# \x1b]133;B\x07\x1b[6n')).toBe('vm:/root# ');
  });

  it('bounds a line that never ends', () => {
    const { d } = feed(HOST_PHASES, new Uint8Array(100_000).fill(0x41));
    expect(d.consoleTail()[0].length).toBeLessThanOrEqual(4096);
  });
});

describe('phase labels', () => {
  it("names a phase by its label among the row's phases, and an undefined segment by its name", () => {
    expect(phaseLabel(phasesOfKind('vm'), 'login')).toBe('login:');
    expect(phaseLabel(phasesOfKind('host'), 'resume')).toBe('Resume');
    expect(phaseLabel(phasesOfKind('container'), 'namespaces')).toBe(CONTAINER_PHASES.find((p) => p.name === 'namespaces')!.label);
    expect(phaseLabel(phasesOfKind('container'), 'host')).toBe('Host boot');
    expect(phaseLabel(phasesOfKind('vm'), 'prompt')).toBe('prompt');
    expect(phasesOfKind('vm')).toEqual(phasesOf('vm'));
  });
});
