import { describe, expect, it } from 'vitest';
import { machineStateLabel, type LabelledMachine } from './state-label.ts';

const mark = { phase: 'login', wallMs: 2400, instructions: 48e6, skipped: [] };
const machine = (over: Partial<LabelledMachine>): LabelledMachine => ({
  state: 'booting',
  finish: undefined,
  error: undefined,
  panic: undefined,
  throttled: false,
  ...over,
});

describe('machineStateLabel', () => {
  it('puts a panic and a failure before anything else the machine was doing', () => {
    expect(machineStateLabel(machine({ state: 'panic', finish: mark, panic: { line: 'Kernel panic', tail: [], wallMs: 1, instructions: 1 } }))).toBe(
      'kernel panic',
    );
    expect(machineStateLabel(machine({ state: 'error', error: { kind: 'download', message: 'HTTP 404' } }))).toBe('failed');
    expect(machineStateLabel(machine({ state: 'crashed', finish: mark }))).toBe('failed');
  });

  it('calls a stopped or never started machine off, even after it had finished', () => {
    expect(machineStateLabel(machine({ state: 'stopped', finish: mark }))).toBe('off');
    expect(machineStateLabel(machine({ state: 'idle' }))).toBe('off');
  });

  it('tells loading, booting, up and paused apart', () => {
    expect(machineStateLabel(machine({ state: 'loading' }))).toBe('loading');
    expect(machineStateLabel(machine({ state: 'booting' }))).toBe('booting');
    expect(machineStateLabel(machine({ state: 'finished', finish: mark }))).toBe('up');
    expect(machineStateLabel(machine({ state: 'paused', throttled: true }))).toBe('paused (console busy)');
  });
});
