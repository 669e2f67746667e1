// Main-thread responsiveness of the race page under the heaviest board (6 VMs + 12 containers), in
// the built app in Debian's Chromium. Not a test (never part of npm test):
//   npm run bench:ui [-- --rounds 3 --vms 6 --containers 12 --mode warm|cold --port 5201 --no-build --trace --startup-only
//   --no-trace --viewport 1280x720 --shots .cache/ui-shots]
// Without --mode the page's default race runs (warm: the host boots first, then VMs and containers).
// --startup-only measures the page's start-up alone (to a second after the first power-on).
// Per round: long tasks (PerformanceObserver 'longtask') from navigation to the last finish flag,
// first power-on after navigation, time to all flags. Prints every round and the medians.
// --trace also traces the first round (Chromium tracing): the thread CPU time of each main-thread
// task tells our own work apart from time the thread sat descheduled (a loaded machine stretches
// wall time), font look-ups (a synchronous IPC to the browser process) are counted, the trace is
// kept in .cache/ and what ran in each long task is named. Tracing slows the page: use it to find
// causes, and the untraced rounds for the figures.
import { chromium, type Page } from '@playwright/test';
import { build, preview } from 'vite';
import { cpus, loadavg } from 'node:os';
import { writeFileSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { mainThreadFigures, traceLongTasks, type TraceFigures } from './trace-tasks.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    vms: { type: 'string', default: '6' },
    containers: { type: 'string', default: '12' },
    mode: { type: 'string' },
    port: { type: 'string', default: process.env.STACKLAB_E2E_PORT ?? '5201' },
    out: { type: 'string', default: '.cache/bench-ui' },
    'no-build': { type: 'boolean', default: false },
    trace: { type: 'boolean', default: false },
    /** Skip the per-round trace (its CPU figures): long races on a loaded box make huge traces. */
    'no-trace': { type: 'boolean', default: false },
    timeout: { type: 'string', default: '240000' },
    viewport: { type: 'string', default: '1600x1000' },
    shots: { type: 'string' },
    /** Measure the page's start-up only (to a second after the first power-on), not the race. */
    'startup-only': { type: 'boolean', default: false },
  },
});

const STARTUP_TAIL_MS = 1000;

const ROOT = resolve(import.meta.dirname, '..');
const rounds = Number(args.rounds);
const query = `?vms=${args.vms}&containers=${args.containers}${args.mode ? `&mode=${args.mode}` : ''}&autostart=1`;

interface Round {
  longTasks: { startMs: number; ms: number }[];
  firstPowerOnMs: number;
  allFlagsMs: number;
  finished: string;
  failures: string[];
  fontsWarmMs: number;
  trace?: TraceFigures;
}

/** Installed before any page script runs: every long task from navigation on. */
function observeLongTasks() {
  const w = window as any;
  w.__longTasks = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) w.__longTasks.push({ startMs: e.startTime, ms: e.duration });
  }).observe({ type: 'longtask', buffered: true });
}

async function raceOnce(page: Page, base: string, shots?: string): Promise<Round> {
  await page.addInitScript(observeLongTasks);
  await page.goto(base + query);
  if (shots) {
    // Mid-race: the containers are starting on the freshly booted host while the VMs still boot.
    await page.waitForFunction(() => (window as any).stacklab?.race?.host?.containers.some((c: any) => c.state !== 'waiting'), undefined, {
      timeout: Number(args.timeout),
      polling: 100,
    });
    await page.screenshot({ path: `${shots}/race-${args.viewport}-mid.png` });
  }
  if (args['startup-only']) {
    // The page's start-up only: module evaluation, font warm-up, the lineup, the Terminals built,
    // the first power-on, and a second after it; the race itself is not waited for.
    await page.waitForFunction(() => (window as any).stacklab?.race?.sessions.some((s: any) => s.powerOnEpoch), undefined, {
      timeout: Number(args.timeout),
      polling: 50,
    });
    await page.waitForTimeout(STARTUP_TAIL_MS);
  } else await page.waitForFunction(() => (window as any).stacklab?.race?.done, undefined, { timeout: Number(args.timeout), polling: 500 });
  return page.evaluate((startupOnly) => {
    const w = window as any;
    const race = w.stacklab.race;
    const origin = performance.timeOrigin;
    const firstPowerOnMs = Math.min(...race.sessions.map((s: any) => s.powerOnEpoch ?? Infinity)) - origin;
    let last = 0;
    const failures: string[] = [];
    let finished = 0;
    for (const r of race.racers) {
      if (!r.finish) {
        failures.push(`${r.id}: ${r.error?.message ?? r.panic?.line ?? r.state}`);
        continue;
      }
      finished++;
      const start = r.kind === 'container' ? r.startEpoch : r.powerOnEpoch;
      last = Math.max(last, start + r.finish.wallMs);
    }
    const allFlagsMs = startupOnly ? performance.now() : last - origin;
    const longTasks = (w.__longTasks as { startMs: number; ms: number }[]).filter((t) => t.startMs <= allFlagsMs);
    const fontsWarmMs = performance.getEntriesByName('stacklab-fonts-warm')[0]?.startTime ?? NaN;
    return { longTasks, firstPowerOnMs, allFlagsMs, finished: `${finished}/${race.racers.length}`, failures: startupOnly ? [] : failures, fontsWarmMs };
  }, !!args['startup-only']);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const p95 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(s.length * 0.95) - 1)] : 0;
};

async function main() {
  if (!args['no-build']) {
    console.log(`building the app into ${args.out} …`);
    // Relative to the root: the site plugin joins root and outDir.
    await build({ root: ROOT, logLevel: 'warn', build: { outDir: args.out, emptyOutDir: true } });
  }
  const server = await preview({
    root: ROOT,
    logLevel: 'warn',
    build: { outDir: args.out },
    preview: { host: '127.0.0.1', port: Number(args.port), strictPort: true },
  });
  const base = `http://127.0.0.1:${args.port}/`;
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const results: Round[] = [];
  const loads: number[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      loads.push(loadavg()[0]);
      const [width, height] = args.viewport!.split('x').map(Number);
      // No service worker: its 17 MB offline copy would download during the race (as in the e2e tests).
      const context = await browser.newContext({ viewport: { width, height }, serviceWorkers: 'block' });
      const page = await context.newPage();
      // Few categories: the seven emulator workers run thousands of tasks a second, and the
      // detailed timeline categories made traces of over 512 MB in a slow race.
      const categories =
        process.env.STACKLAB_TRACE_CATEGORIES ?? (args.trace ? 'toplevel,devtools.timeline,disabled-by-default-devtools.timeline,fonts' : 'toplevel,fonts');
      // Tracing perturbs what it measures (the emulator workers' tasks made 0.7–1.6 GB traces and
      // multi-second main-thread stalls), so only on request, and only the first round.
      const tracing = args.trace && !args['no-trace'] && r === 0;
      if (tracing) await browser.startTracing(page, { categories: categories.split(',') });
      const shots = args.shots && r === 0 ? resolve(ROOT, args.shots) : undefined;
      if (shots) mkdirSync(shots, { recursive: true });
      const round = await raceOnce(page, base, shots);
      if (shots) {
        await page.screenshot({ path: `${shots}/race-${args.viewport}-done.png` });
        await page.screenshot({ path: `${shots}/race-${args.viewport}-done-full.png`, fullPage: true });
      }
      const trace = tracing ? await browser.stopTracing() : undefined;
      if (trace && trace.length < 400e6) round.trace = mainThreadFigures(JSON.parse(trace.toString()), round.allFlagsMs);
      else if (trace) console.log(`trace of ${(trace.length / 1e6).toFixed(0)} MB: too big to read, no CPU figures this round`);
      if (trace && args.trace && r === 0) {
        mkdirSync(resolve(ROOT, '.cache'), { recursive: true });
        const file = resolve(ROOT, '.cache/bench-ui-trace.json');
        writeFileSync(file, trace);
        console.log(`trace of round 1: ${file}`);
        for (const line of traceLongTasks(JSON.parse(trace.toString()), 50)) console.log(line);
      }
      await context.close();
      results.push(round);
      const ms = round.longTasks.map((t) => t.ms);
      console.log(
        `round ${r + 1}: ${round.finished} flags; long tasks ${ms.length}, max ${Math.max(0, ...ms).toFixed(0)} ms ` +
          `[${round.longTasks.map((t) => `${t.ms.toFixed(0)}@${t.startMs.toFixed(0)}`).join(' ')}]` +
          (round.failures.length ? `; not finished: ${round.failures.join('; ')}` : ''),
      );
    }
  } finally {
    await browser.close();
    await server.close();
  }

  const rows: [string, (r: Round) => number, string][] = [
    ['long tasks (count)', (r) => r.longTasks.length, ''],
    ['longest task', (r) => Math.max(0, ...r.longTasks.map((t) => t.ms)), 'ms'],
    // Start-up (module evaluation, first render, font warm-up) against the race itself (the emulator
    // threads competing for the cores): different causes, different levers.
    ['  before the first power-on', (r) => Math.max(0, ...r.longTasks.filter((t) => t.startMs < r.firstPowerOnMs).map((t) => t.ms)), 'ms'],
    ['  after the first power-on', (r) => Math.max(0, ...r.longTasks.filter((t) => t.startMs >= r.firstPowerOnMs).map((t) => t.ms)), 'ms'],
    ['p95 long task', (r) => p95(r.longTasks.map((t) => t.ms)), 'ms'],
    ['total blocked (>50 ms part)', (r) => r.longTasks.reduce((a, t) => a + Math.max(0, t.ms - 50), 0), 'ms'],
    ['  of which CPU, longest task', (r) => r.trace?.maxTaskCpuMs ?? NaN, 'ms'],
    // Thread CPU does not stretch when the machine is loaded: the start-up's own cost.
    ['CPU, costliest task before power-on', (r) => r.trace?.maxTaskCpuMsBefore(r.firstPowerOnMs) ?? NaN, 'ms'],
    ['tasks with > 50 ms CPU', (r) => r.trace?.cpuLongTasks ?? NaN, ''],
    ['main-thread CPU, whole race', (r) => r.trace?.mainCpuMs ?? NaN, 'ms'],
    ['font look-ups after 2 s (IPC)', (r) => r.trace?.lateFontLookups ?? NaN, ''],
    ['  of which after the warm-up', (r) => r.trace?.fontLookupsAfter(r.fontsWarmMs) ?? NaN, ''],
    ['longest font look-up', (r) => r.trace?.maxFontLookupMs ?? NaN, 'ms'],
    ['fonts warmed after navigation', (r) => r.fontsWarmMs, 'ms'],
    ['first power-on after navigation', (r) => r.firstPowerOnMs, 'ms'],
    ['navigation → all flags', (r) => r.allFlagsMs, 'ms'],
  ];
  console.log(
    `\nrace page, ${args.vms} VMs + ${args.containers} containers (${args.mode ?? 'default mode'}), ${rounds} round(s), Chromium ${browser.version()}`,
  );
  console.log(
    `load average (1 min) before each round: ${loads.map((l) => l.toFixed(1)).join(', ')} on ${cpus().length} cores — wall figures stretch under load`,
  );
  const head = ['figure'.padEnd(36), ...results.map((_, i) => `round ${i + 1}`.padStart(9)), 'median'.padStart(9)];
  console.log(head.join(' '));
  for (const [name, get, unit] of rows) {
    const xs = results.map(get);
    const cell = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '–').padStart(9);
    console.log([`${name}${unit ? ` (${unit})` : ''}`.padEnd(36), ...xs.map(cell), cell(median(xs))].join(' '));
  }
  console.log('targets: no task > 100 ms; first power-on ≤ 1500 ms after navigation');
  if (results.some((r) => r.failures.length)) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
