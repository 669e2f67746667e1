import { describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from './args.ts';

describe('race arguments', () => {
  it('reads a setup into the page config', () => {
    const a = parseArgs(['--vms', '2', '--containers=4', '--warm', '--json', '--timeout', '30', '--vm-disk', '2=/tmp/x.img']);
    expect(a.config).toMatchObject({ page: 'race', vms: 2, containers: 4, mode: 'warm', vmDisks: { 2: '/tmp/x.img' } });
    expect(a.json).toBe(true);
    expect(a.timeoutMs).toBe(30_000);
  });

  it.each([
    [['--vms', '9'], '--vms must be from 0 to 6, got 9'],
    [['--containers', '13'], '--containers must be from 0 to 12, got 13'],
    [['--containers', 'x'], '--containers must be a whole number from 0 to 12, got "x"'],
    [['--vms', '0', '--containers', '0'], 'a race needs at least one VM or one container'],
    [['--vms'], '--vms needs a value'],
    [['--timeout', '0'], '--timeout must be a number of seconds above 0, got "0"'],
    [['--warm', '--cold'], '--warm and --cold exclude each other'],
    [['--vm-disk', '9=/x'], '--vm-disk 9: there is no VM 9 (VMs are numbered 1 to 6)'],
  ])('%j → %s', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
  });
});
