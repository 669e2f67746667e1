import { describe, it, expect } from 'vitest';
import { measureBoxStart, parseStartedLine, type ShellRun } from './box-start.ts';

// As images/agent/starts.c logs a start (two other containers around it).
const LOG = `[    3.120] boxd ready
[    9.871] started web1 (0123456789ab) pid 201 in 31.4 ms: layers 0.2 namespaces 1.1 mounts 12.0 cgroup 3.3 network 9.9 exec 4.9
[   10.002] started hy-start (a1b2c3d4e5f6) pid 230 in 42.5 ms: layers 0.1 namespaces 0.4 mounts 20.0 cgroup 5.0 network 12.0 exec 5.0
[   10.500] started hy-start2 (ffffffffffff) pid 240 in 99.0 ms: layers 1.0
`;

describe('parseStartedLine', () => {
  it('reads the start of the named container, not of one whose name it prefixes', () => {
    const s = parseStartedLine(LOG, 'hy-start');
    expect(s).toEqual({
      name: 'hy-start',
      pid: 230,
      ms: 42.5,
      phases: { layers: 0.1, namespaces: 0.4, mounts: 20, cgroup: 5, network: 12, exec: 5 },
    });
  });

  it('says which container it could not find', () => {
    expect(() => parseStartedLine(LOG, 'nope')).toThrow(/no start of nope/);
  });
});

describe('measureBoxStart', () => {
  /** A shell that answers as a machine running boxd would, and records what it was asked. */
  const shell = (answers: Record<string, { output: string; exitCode: number }>) => {
    const asked: string[] = [];
    const run: ShellRun = async (cmd) => {
      asked.push(cmd);
      const key = Object.keys(answers).find((k) => cmd.startsWith(k));
      return key ? answers[key]! : { output: '', exitCode: 0 };
    };
    return { run, asked };
  };

  it('starts, reads the log and memory.current, and removes the container', async () => {
    const { run, asked } = shell({
      'box run -d': { output: 'a1b2c3d4e5f6\n', exitCode: 0 },
      grep: { output: LOG.split('\n')[2]!, exitCode: 0 },
      cat: { output: '290816\n', exitCode: 0 },
    });
    const r = await measureBoxStart(run, 'hy-start');
    expect(r.start.ms).toBe(42.5);
    expect(r.memoryBytes).toBe(290816);
    expect(asked.at(-1)).toBe('box rm -f hy-start >/dev/null 2>&1');
  });

  it('fails with box run’s own words, and still removes the container when a figure is missing', async () => {
    const failing = shell({ 'box run -d': { output: 'box: unknown image busybox\n', exitCode: 125 } });
    await expect(measureBoxStart(failing.run, 'x')).rejects.toThrow(/failed \(125\): box: unknown image busybox/);

    const noMemory = shell({
      'box run -d': { output: 'id\n', exitCode: 0 },
      grep: { output: LOG.split('\n')[2]!, exitCode: 0 },
      cat: { output: 'cat: can’t open …: No such file or directory\n', exitCode: 1 },
    });
    await expect(measureBoxStart(noMemory.run, 'hy-start')).rejects.toThrow(/no memory.current/);
    expect(noMemory.asked.at(-1)).toBe('box rm -f hy-start >/dev/null 2>&1');
  });
});
