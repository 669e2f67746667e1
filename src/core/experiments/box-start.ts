/**
 * One container start measured on whichever machine runs boxd: the container host, or a VM that
 * carries boxd on its disk ("Docker in a VM", issue 13 item 4). Both are driven the same way, over
 * their serial shell with the `box` CLI, so the figures compare the machines and not two paths.
 */
import { parseCounter } from './common.ts';

/** One start as boxd logged it (images/agent/starts.c, announce_started), guest CLOCK_MONOTONIC. */
export interface LoggedStart {
  name: string;
  /** PID 1 of the container as the machine running boxd sees it. */
  pid: number;
  /** Guest ms from boxd receiving the request to the container's exec. */
  ms: number;
  /** Guest ms spent in each phase after "received" (layers, namespaces, mounts, cgroup, network, exec). */
  phases: Record<string, number>;
}

/**
 * The line boxd logs for the start of container `name`:
 * `[  12.345] started NAME (ID) pid N in X ms: layers 0.1 namespaces 2.0 …`.
 * @throws Error when the log has no such line (boxd did not start it, or logs elsewhere).
 */
export function parseStartedLine(log: string, name: string): LoggedStart {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const line = new RegExp(`started ${escaped} \\([0-9a-f]+\\) pid (\\d+) in ([\\d.]+) ms:(.*)$`, 'm').exec(log);
  if (!line) throw new Error(`boxd's log has no start of ${name}`);
  const phases: Record<string, number> = {};
  for (const [, phase, ms] of line[3]!.matchAll(/([a-z_]+) ([\d.]+)/g)) phases[phase!] = Number(ms);
  return { name, pid: Number(line[1]), ms: Number(line[2]), phases };
}

/** A shell on a machine: runs one command line and gives its output and exit status. */
export type ShellRun = (cmd: string) => Promise<{ output: string; exitCode: number }>;

export interface BoxStart {
  start: LoggedStart;
  /** The container's cgroup memory.current once it runs (bytes, an idle `sleep`). */
  memoryBytes: number;
}

/** Where boxd logs on both machines (the host's init and the VM's rcS send its stderr there). */
export const BOXD_LOG = '/var/log/boxd.log';

/**
 * A shell line that waits up to 60 s for boxd to log "boxd ready" and exits 0 once it has (1 if
 * not). The VM's rcS starts boxd in the background after login, so a VM's first `box` waits on this.
 */
export const WAIT_BOXD_READY = `n=0; until grep -q "boxd ready" ${BOXD_LOG} || [ $n -ge 60 ]; do sleep 1; n=$((n+1)); done; grep -q "boxd ready" ${BOXD_LOG}`;

/**
 * Start a detached busybox `sleep` named `name` with `box run -d`, read its start from boxd's log and
 * its memory.current from its cgroup (boxd puts container NAME in /sys/fs/cgroup/box/NAME), then
 * remove it.
 * @throws Error when box run fails or either figure cannot be read.
 */
export async function measureBoxStart(run: ShellRun, name: string): Promise<BoxStart> {
  await run(`box rm -f ${name} >/dev/null 2>&1`);
  const started = await run(`box run -d --name ${name} busybox sleep 100000`);
  if (started.exitCode !== 0) throw new Error(`box run -d --name ${name} busybox failed (${started.exitCode}): ${started.output.trim()}`);
  try {
    const log = await run(`grep "started ${name} " ${BOXD_LOG}`);
    const start = parseStartedLine(log.output, name);
    const mem = await run(`cat /sys/fs/cgroup/box/${name}/memory.current`);
    return { start, memoryBytes: parseCounter(mem.output, `no memory.current for ${name}`) };
  } finally {
    await run(`box rm -f ${name} >/dev/null 2>&1`);
  }
}
