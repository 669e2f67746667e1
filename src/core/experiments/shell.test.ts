import { describe, it, expect } from 'vitest';
import { parseSentinel, sentinelLine } from './shell.ts';
import { formatBytes, median, parseBusyboxTime, parseMeminfo, usedBytes } from './common.ts';

describe('sentinel commands', () => {
  it('types the command between two markers, the second with $?', () => {
    expect(sentinelLine('uname -r', 4)).toBe('echo "@@"beg-4; uname -r; echo "@@"end-4:$?\n');
  });

  it('cuts the output out of echo, prompt and carriage returns', () => {
    const echoed = 'echo "@@"beg-3; uname -r; echo "@@"end-3:$?\r\n@@beg-3\r\n6.1.192\r\n@@end-3:0\r\nvm:/root# ';
    expect(parseSentinel(echoed, 3)).toEqual({ output: '6.1.192', exitCode: 0 });
    expect(parseSentinel('vm# @@beg-3\nx\ny\n@@end-3:2\n', 3)).toEqual({ output: 'x\ny', exitCode: 2 });
    expect(parseSentinel('@@beg-3\n@@end-3:1\n', 3)).toEqual({ output: '', exitCode: 1 });
  });

  it('waits for the end marker, and ignores other commands’ markers', () => {
    expect(parseSentinel('@@beg-3\n6.1', 3)).toBeUndefined();
    expect(parseSentinel('@@beg-2\nold\n@@end-2:0\n', 3)).toBeUndefined();
    // The echoed end marker has quotes and must not end the command.
    expect(parseSentinel('echo "@@"end-3:$?\n', 3)).toBeUndefined();
  });
});

describe('what guests print', () => {
  it('reads /proc/meminfo and the memory in use', () => {
    const info = parseMeminfo('MemTotal:          60340 kB\nMemFree:           50000 kB\nMemAvailable:      55704 kB\n');
    expect(info.MemTotal).toBe(60340);
    expect(usedBytes(info)).toBe((60340 - 55704) * 1024);
    expect(() => usedBytes({ MemTotal: 1 })).toThrow(/MemAvailable/);
  });

  it('reads busybox time', () => {
    expect(parseBusyboxTime('abc  -\nreal\t0m 5.78s\nuser\t0m 4.84s\nsys\t0m 0.93s')).toEqual({ realMs: 5780, userMs: 4840, sysMs: 930 });
    expect(parseBusyboxTime('real\t1h 2m 3.50s\nuser\t0m 0.00s\nsys\t0m 0.00s').realMs).toBe(3723500);
    expect(() => parseBusyboxTime('sh: time: not found')).toThrow(/real/);
  });

  it('formats bytes and takes medians', () => {
    expect(formatBytes(16777216)).toBe('16.0 MiB');
    expect(formatBytes(-2048)).toBe('−2.0 KiB');
    expect(formatBytes(100)).toBe('100 B');
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(Number.isNaN(median([]))).toBe(true);
  });
});
