/**
 * The page's race in Node: one worker thread per machine (as the page has one Web Worker per
 * machine), powered on at once; cold or warm container starts on the one container host; every
 * racer under a hard timeout; the order of events (runRaceSequence) and the ranking (rankRace) are
 * core's, the same as the page's (src/core/machine/race.ts).
 */
import { readFileSync } from 'node:fs';
import {
  failureOf,
  noContainersMessage,
  raceMachines,
  rankRace,
  runRaceSequence,
  type LabConfig,
  type MachineResult,
  type RankedResult,
} from '../core/machine/index.ts';
import { distUrls } from './dist.ts';
import { HeadlessMachine, type HeadlessContainer } from './machine.ts';

export interface RaceOptions {
  config: LabConfig;
  /** The images (images/dist layout). */
  dist: string;
  /** Hard limit per racer, from its start. */
  timeoutMs: number;
  /** Progress lines as racers finish. */
  log?: (line: string) => void;
}

export interface Unfinished {
  name: string;
  why: string;
  /** The console's last lines (the host's for a container that never got its own output). */
  tail: string[];
}

export interface RaceOutcome {
  /** Ranked rows from the racers as they are now (call again after the identity check). */
  results(): RankedResult[];
  unfinished: Unfinished[];
  machines: HeadlessMachine[];
  containers: HeadlessContainer[];
}

type Racer = HeadlessMachine | HeadlessContainer;

/** Resolves true when the racer finished, false when it failed or ran out of time. */
function deadline(r: Racer, ms: number, timedOut: Set<Racer>): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<boolean>((res) => {
    timer = setTimeout(() => {
      timedOut.add(r);
      res(false);
    }, ms);
  });
  const done = r.finished.promise.then(
    () => true,
    () => false,
  );
  return Promise.race([done, late]).finally(() => clearTimeout(timer));
}

export async function runRace(opts: RaceOptions): Promise<RaceOutcome> {
  const { config, timeoutMs } = opts;
  const log = opts.log ?? (() => {});
  // Compiled once and handed to every thread, as the page does (emulator-module.ts).
  const wasmModule = await WebAssembly.compile(readFileSync(new URL(distUrls(opts.dist).wasm)));
  // No warm start in Node (no browser storage for its saved boot): the host boots.
  const { lineup, vms, host } = raceMachines(config, (spec, { vmDisk }) => new HeadlessMachine(spec, distUrls(opts.dist, vmDisk), wasmModule));
  const machines = host ? [...vms, host] : vms;
  const timedOut = new Set<Racer>();
  const waits: Promise<boolean>[] = [];
  const announce = (r: Racer) => {
    const who = r.kind === 'container' ? `container ${r.name}` : r.name;
    r.finished.promise.then(
      (m) => log(`${who}: prompt at ${m.wallMs.toFixed(0)} ms`),
      (e: Error) => log(`${who}: ${e.message}`),
    );
  };
  const watch = (r: Racer): Promise<boolean> => {
    announce(r);
    const wait = deadline(r, timeoutMs, timedOut);
    waits.push(wait);
    return wait;
  };

  // Threads first (the page's workers are up before Start too), so power-on is one instant.
  await Promise.all(
    machines.map((m) =>
      m.spawn().catch((err: Error) => {
        m.error = { kind: 'worker', message: `the machine's worker did not start: ${err.message}` };
        m.state = 'crashed';
        m.finished.reject(m.error.message);
      }),
    ),
  );
  const powerOn = (m: HeadlessMachine) => void m.powerOn().catch(() => {}); // failures arrive as events
  const startContainers = (mode: 'cold' | 'warm') => {
    for (const c of lineup.containers) watch(host!.startContainer(c.id, c.name, mode));
  };
  const hostFailure = (h: HeadlessMachine) => (timedOut.has(h) ? `it was not ready within ${timeoutMs / 1000} s` : failureOf(h));
  const noContainers = (h: HeadlessMachine) => {
    for (const c of lineup.containers) h.startContainer(c.id, c.name, config.mode).fail(noContainersMessage(hostFailure(h)));
  };

  if (host && config.mode === 'warm') log('warm race: booting the container host first (its own row, paid once, not ranked)');
  // Waits for every racer join `waits` as they are started; the sequence itself is one of them.
  const sequence = runRaceSequence<HeadlessMachine>({
    mode: config.mode,
    vms,
    host,
    powerOn: (m) => {
      powerOn(m);
      if (m !== host) watch(m);
    },
    ready: (m) => watch(m),
    racing: () =>
      log(
        `racing ${vms.length} VM${vms.length === 1 ? '' : 's'} and ${lineup.containers.length} container${lineup.containers.length === 1 ? '' : 's'} (${config.mode})`,
      ),
    startContainers,
    noContainers,
  });
  waits.push(sequence.then(() => true));
  // Container waits join `waits` when the host is ready: settle until no new ones appear.
  for (let n = -1; n !== waits.length;) {
    n = waits.length;
    await Promise.all(waits);
  }

  const containers = host?.containers ?? [];
  // A container that did not start on a running host: boxd's own log says why, so put it in the tail.
  if (host?.finish && containers.some((c) => !c.finish)) {
    host.type('cat /var/log/boxd.log\n');
    await new Promise((r) => setTimeout(r, 2000));
  }
  const late = (r: Racer) => timedOut.has(r) && !r.finish && !(r.kind === 'container' ? r.error : r.error || r.panic);
  const resultOf = (r: Racer): MachineResult => {
    const res = r.result();
    return late(r) ? { ...res, status: 'error', message: `no prompt within ${timeoutMs / 1000} s` } : res;
  };
  const unfinished: Unfinished[] = [];
  for (const m of machines) {
    if (m.finish) continue;
    const why = late(m) ? `no prompt within ${timeoutMs / 1000} s` : failureOf(m, 'did not finish');
    unfinished.push({ name: m.name, why: `${why} (${m.whereabouts()})`, tail: m.panic?.tail.length ? m.panic.tail : m.console.lines(20) });
  }
  for (const c of containers) {
    if (c.finish) continue;
    // A container that never ran has no console of its own: its host's is reported above.
    unfinished.push({
      name: `container ${c.name}`,
      why: late(c) ? `no prompt within ${timeoutMs / 1000} s` : (c.error ?? 'did not finish'),
      tail: c.console.lines(20),
    });
  }
  const results = () => rankRace(config.mode, [...machines.map(resultOf), ...containers.map(resultOf)]);
  return { results, unfinished, machines, containers };
}
