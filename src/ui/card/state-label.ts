import type { MachineSession } from '../machines/index.ts';

/** What the label reads from a machine's session. */
export type LabelledMachine = Pick<MachineSession, 'state' | 'finish' | 'error' | 'panic' | 'throttled'>;

/**
 * A machine's state in a word or two, the same on its lab card and its chip on the compare page:
 * 'kernel panic', 'failed' (a machine error or a crashed worker), 'off' (never started or powered
 * off), 'up' (its finish marker appeared), 'paused (console busy)' while booting, 'loading' or 'booting'.
 */
export function machineStateLabel(m: LabelledMachine): string {
  if (m.panic) return 'kernel panic';
  if (m.error || m.state === 'error' || m.state === 'crashed') return 'failed';
  if (m.state === 'stopped' || m.state === 'idle') return 'off';
  if (m.finish) return 'up';
  if (m.throttled) return 'paused (console busy)';
  return m.state === 'loading' ? 'loading' : 'booting';
}
