/**
 * Boot phases read off a guest's console: each phase starts when its marker line appears
 * (the first phase starts at power-on). The detector is a pure class: it is fed console bytes
 * and asks an injected clock for the wall time and guest instruction count at the moment a
 * marker completes, so the figures are exact to the byte, not to the next batch.
 */
import { MARKERS } from '../markers.ts';
import type { MachineKind } from './profiles.ts';

export interface PhaseDef {
  readonly name: string;
  /** Short label for timelines and tables. */
  readonly label: string;
  /** What really runs during this phase, one line for the results explanation. */
  readonly what: string;
  /** Console pattern that starts this phase; absent for the first phase (starts at power-on). */
  readonly marker?: RegExp;
}

export const VM_PHASES: readonly PhaseDef[] = [
  { name: 'bios', label: 'BIOS', what: 'SeaBIOS POST: firmware probes the emulated PC and reads the boot sector' },
  { name: 'bootloader', label: 'Bootloader', what: 'SYSLINUX reads its config and loads the kernel from the FAT partition', marker: MARKERS.bootloader },
  { name: 'kernel', label: 'Kernel', what: 'Linux 6.1 decompresses, probes devices and mounts the ext2 root', marker: MARKERS.kernel },
  { name: 'init', label: 'Init', what: 'busybox init runs rcS: proc, sys, dev, tmpfs mounts', marker: MARKERS.init },
  { name: 'services', label: 'Services', what: 'syslogd, klogd, crond, httpd and the network start', marker: MARKERS.services },
  { name: 'login', label: 'login:', what: 'getty prints the login prompt', marker: MARKERS.login },
];

export const HOST_PHASES: readonly PhaseDef[] = [
  { name: 'bios', label: 'BIOS', what: 'SeaBIOS POST, then v86 hands the bzImage to the CPU' },
  { name: 'kernel', label: 'Kernel', what: 'Linux 6.12 decompresses and unpacks the initramfs', marker: MARKERS.kernel },
  { name: 'init', label: 'Init', what: 'the host init mounts proc, sys, cgroup2, tmpfs', marker: MARKERS.init },
  { name: 'boxd', label: 'boxd', what: 'the container daemon starts and opens its socket', marker: MARKERS.boxd },
  { name: 'ready', label: 'Ready', what: 'the host root shell is up, ready to start containers', marker: MARKERS.hostReady },
];

export const PHASES: Readonly<Record<MachineKind, readonly PhaseDef[]>> = { vm: VM_PHASES, host: HOST_PHASES };

/**
 * A machine resumed from a saved state boots nothing: its timeline is this one segment, from
 * power-on to the finish (the boot phases happened before the save and are marked as passed over).
 */
export const RESUME_PHASE: PhaseDef = { name: 'resume', label: 'Resume', what: 'v86 restores the saved state (RAM, CPU, devices) instead of booting' };

/** A machine's phases for timelines and tables: its boot phases, and the resume segment. */
export const phasesOf = (kind: MachineKind): readonly PhaseDef[] => [...PHASES[kind], RESUME_PHASE];

/** The label of phase `name` among `phases`; the name itself for one they do not define. */
export const phaseLabel = (phases: readonly PhaseDef[], name: string): string => phases.find((p) => p.name === name)?.label ?? name;

/** Where a machine stood when something happened: wall ms and guest instructions since power-on. */
export interface Stamp {
  wallMs: number;
  instructions: number;
}

export interface PhaseMark extends Stamp {
  phase: string;
  /** Phases passed over without their marker appearing (e.g. a host without boxd). */
  skipped: string[];
}

export interface PanicInfo extends Stamp {
  /** The "Kernel panic - not syncing: …" line. */
  line: string;
  /** The console's last lines at that moment, ANSI escapes removed. */
  tail: string[];
}

export interface PhaseDetectorEvents {
  phase(mark: PhaseMark): void;
  panic(info: PanicInfo): void;
}

/** OSC strings (ESC ] … BEL or ST): the shells' prompt marks (OSC 133), window titles. */
const OSC = /\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g;
const CSI = /\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>78cDEHM]/g;

/** The console's text without escape sequences: OSC strings, CSI sequences, charset and mode switches. */
export function stripAnsi(s: string): string {
  return s.replace(OSC, '').replace(CSI, '');
}

const MAX_LINE = 4096;

export class PhaseDetector {
  private next = 1;
  private line = '';
  private readonly tail: string[] = [];
  private panicked = false;
  readonly marks: PhaseMark[] = [];

  constructor(
    readonly phases: readonly PhaseDef[],
    private readonly clock: () => Stamp,
    private readonly on: Partial<PhaseDetectorEvents> = {},
    private readonly tailLines = 24,
  ) {
    if (!phases.length || phases[0].marker) throw new Error('the first phase starts at power-on and has no marker');
    this.marks.push({ phase: phases[0].name, wallMs: 0, instructions: 0, skipped: [] });
  }

  get finished(): boolean {
    return this.next >= this.phases.length;
  }

  get current(): string {
    return this.marks[this.marks.length - 1].phase;
  }

  get hasPanicked(): boolean {
    return this.panicked;
  }

  /** Last console lines (the unfinished one included), escapes removed. */
  consoleTail(): string[] {
    const lines = [...this.tail];
    const partial = stripAnsi(this.line).trimEnd();
    if (partial) lines.push(partial);
    return lines.slice(-this.tailLines);
  }

  push(bytes: ArrayLike<number>): void {
    for (let i = 0; i < bytes.length; i++) this.pushByte(bytes[i]);
  }

  pushByte(byte: number): void {
    if (byte === 0x0a) {
      this.check(this.line);
      this.checkPanic(this.line);
      this.endLine();
      return;
    }
    if (byte === 0x0d || byte === 0) return;
    if (this.line.length < MAX_LINE) this.line += String.fromCharCode(byte);
    // Prompts end without a newline, so unfinished phases are also checked on the partial line.
    if (!this.finished) this.check(this.line);
  }

  private endLine() {
    this.tail.push(stripAnsi(this.line).trimEnd());
    if (this.tail.length > this.tailLines) this.tail.shift();
    this.line = '';
  }

  private check(text: string) {
    if (!this.finished) {
      for (let j = this.next; j < this.phases.length; j++) {
        if (this.phases[j].marker!.test(text)) {
          const at = this.clock();
          const skipped = this.phases.slice(this.next, j).map((p) => p.name);
          const mark: PhaseMark = { phase: this.phases[j].name, ...at, skipped };
          this.marks.push(mark);
          this.next = j + 1;
          this.on.phase?.(mark);
          break;
        }
      }
    }
  }

  /** Panics are read on whole lines, so the message after "not syncing:" is complete. */
  private checkPanic(text: string) {
    if (!this.panicked && MARKERS.panic.test(text)) {
      this.panicked = true;
      const tail = this.consoleTail();
      this.on.panic?.({ ...this.clock(), line: stripAnsi(text).trim(), tail });
    }
  }
}

/** Durations of each reached phase, in order: from its start to the next reached phase's start. */
export function phaseDurations(marks: readonly PhaseMark[]): { phase: string; startMs: number; wallMs: number; instructions: number }[] {
  return marks.slice(0, -1).map((m, i) => ({
    phase: m.phase,
    startMs: m.wallMs,
    wallMs: marks[i + 1].wallMs - m.wallMs,
    instructions: marks[i + 1].instructions - m.instructions,
  }));
}
