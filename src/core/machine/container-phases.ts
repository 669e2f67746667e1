/**
 * Container start phases, from the mux's STARTED and FIRST_OUTPUT frames (PROTOCOL.md; decoded by
 * src/core/mux/payloads.ts): boxd stamps
 * each step with the guest's CLOCK_MONOTONIC; the page measures the whole request on its own clock
 * (RUN sent → first output received). The difference is the request's trip over the mux and back.
 */
import type { PhaseDef, PhaseMark } from './phases.ts';
import { START_PHASES } from '../mux/payloads.ts';

export const CONTAINER_PHASES: readonly PhaseDef[] = [
  { name: 'host', label: 'Host boot', what: 'the shared kernel boots once (cold start only)' },
  {
    name: 'request',
    label: 'Request',
    what: 'page-clock time boxd did not stamp: the RUN request and first output crossing the mux, and any wait before boxd took the request',
  },
  { name: 'layers', label: 'Layers', what: 'boxd finds the image layers, unpacked once on the host' },
  { name: 'namespaces', label: 'Namespaces', what: 'pid, mount, uts, ipc and net namespaces' },
  { name: 'mounts', label: 'Mounts', what: 'overlay root over the layers, /proc, /dev' },
  { name: 'cgroup', label: 'cgroup', what: 'a cgroup v2 group with memory, cpu and pids limits' },
  { name: 'network', label: 'Network', what: 'a veth pair on the box0 bridge' },
  { name: 'exec', label: 'Exec', what: 'execve of the container program, up to its first output' },
  { name: 'prompt', label: 'prompt', what: 'the container printed its first output' },
];

/** What a STARTED frame carries (decoded by src/core/mux/payloads.ts), structurally. */
export interface StartedInfo {
  /** PID 1 of the container as the host kernel sees it. */
  pid: number;
  /** CLOCK_MONOTONIC ns per step, in START_PHASES order (a newer boxd may send more). */
  phases: readonly { ns: bigint }[];
}

const nsToMs = (ns: bigint) => Number(ns) / 1e6;

export interface ContainerTiming {
  /** Host boot before the request (cold start); 0 or absent for a warm start. */
  hostBootMs?: number;
  /** Page clock: RUN sent → FIRST_OUTPUT received, ms. */
  requestWallMs: number;
  started: StartedInfo;
  firstOutputNs: bigint;
}

/**
 * Phase marks on one time line starting at 0: [host boot], request (the part of the wall time the
 * guest did not account for), then each boxd step from its stamps, finishing at the prompt.
 * Instructions are not known per container step (one CPU runs them all), so they are 0 here.
 */
export function containerMarks(t: ContainerTiming): PhaseMark[] {
  const [received, ...rest] = t.started.phases.map((p) => p.ns);
  if (received === undefined) throw new Error('STARTED carries no stamps');
  const guestSpanMs = nsToMs(t.firstOutputNs - received);
  if (guestSpanMs < 0) throw new Error('FIRST_OUTPUT is stamped before the request was received');
  const host = t.hostBootMs ?? 0;
  // Clock rates differ a little; never let the guest's span exceed what the page measured.
  const requestMs = Math.max(0, t.requestWallMs - guestSpanMs);
  const marks: PhaseMark[] = [];
  const mark = (phase: string, wallMs: number) => marks.push({ phase, wallMs, instructions: 0, skipped: [] });
  if (host > 0) mark('host', 0);
  mark('request', host);
  const base = host + requestMs;
  // Each stamp ends the phase of the same name: layers spans received → layers stamp, and so on.
  let prev = received;
  START_PHASES.slice(1).forEach((name, i) => {
    const end = rest[i];
    mark(name, base + nsToMs(prev - received));
    if (end !== undefined) prev = end;
  });
  // exec runs from the last stamp to the first output.
  mark('prompt', base + guestSpanMs);
  return marks;
}
