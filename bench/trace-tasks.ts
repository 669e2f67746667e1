// Names what ran inside each long main-thread task of a Chromium trace (browser.startTracing), so a
// long task can be pinned on a cause: script (with function and file), style, layout, paint, GC…
interface TraceEvent {
  name: string;
  cat?: string;
  ph: string;
  ts: number;
  dur?: number;
  tdur?: number;
  pid: number;
  tid: number;
  args?: {
    name?: string;
    data?: { functionName?: string; url?: string; frame?: string; stackTrace?: { functionName: string; url: string; lineNumber: number }[] };
  };
}

const TOP = new Set(['RunTask', 'ThreadControllerImpl::RunTask']);
const OUTER = 'RunTask';

function describe(e: TraceEvent): string {
  const d = e.args?.data;
  const where = d?.functionName || d?.url ? ` ${d?.functionName ?? ''}${d?.url ? ` ${d.url.replace(/^.*\//, '')}` : ''}` : '';
  return `${e.name}${where}`;
}

/** One line per long task (≥ minMs) on the page's main thread, with its biggest inner events. */
export function traceLongTasks(trace: { traceEvents: TraceEvent[] } | TraceEvent[], minMs: number): string[] {
  const events = Array.isArray(trace) ? trace : trace.traceEvents;
  const mains = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
  const onMain = events.filter((e) => e.ph === 'X' && e.dur !== undefined && mains.has(`${e.pid}:${e.tid}`)).sort((a, b) => a.ts - b.ts);
  const t0 = Math.min(...events.filter((e) => e.name === 'navigationStart' || e.name === 'TracingStartedInBrowser').map((e) => e.ts), onMain[0]?.ts ?? 0);
  const out: string[] = [];
  for (const task of onMain.filter((e) => e.name === OUTER && e.dur! / 1000 >= minMs)) {
    const end = task.ts + task.dur!;
    const inner = onMain.filter((e) => e !== task && !TOP.has(e.name) && e.ts >= task.ts && e.ts + e.dur! <= end && e.pid === task.pid && e.tid === task.tid);
    const biggest = inner.sort((a, b) => b.dur! - a.dur!).slice(0, 6);
    out.push(
      `long task ${(task.dur! / 1000).toFixed(0)} ms (CPU ${((task.tdur ?? 0) / 1000).toFixed(0)}) at +${((task.ts - t0) / 1000).toFixed(0)} ms: ` +
        biggest.map((e) => `${describe(e)} ${(e.dur! / 1000).toFixed(0)}`).join(' | '),
    );
  }
  return out;
}

export interface TraceFigures {
  /** Thread CPU of the costliest main-thread task, ms. */
  maxTaskCpuMs: number;
  /** Main-thread tasks that used more than 50 ms of CPU themselves. */
  cpuLongTasks: number;
  /** Main-thread CPU from navigation to the last flag, ms. */
  mainCpuMs: number;
  /** Font strike / family look-ups (synchronous IPC) later than 2 s after navigation. */
  lateFontLookups: number;
  maxFontLookupMs: number;
  /** Font look-ups later than `ms` after navigation. */
  fontLookupsAfter(ms: number): number;
  /** Thread CPU of the costliest main-thread task that started before `ms` after navigation, ms. */
  maxTaskCpuMsBefore(ms: number): number;
}

const FONT_IPC = new Set(['WebSandboxSupportLinux::GetWebFontRenderStyleForStrike', 'FontDataManager::onMatchFamilyStyle']);

/** Load-independent figures for the page's main thread, from navigation to `untilMs`. */
export function mainThreadFigures(trace: { traceEvents: TraceEvent[] } | TraceEvent[], untilMs: number): TraceFigures {
  const events = Array.isArray(trace) ? trace : trace.traceEvents;
  const mains = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
  const onMain = events.filter((e) => e.ph === 'X' && mains.has(`${e.pid}:${e.tid}`));
  const nav = events.find((e) => e.name === 'navigationStart' && mains.has(`${e.pid}:${e.tid}`))?.ts ?? Math.min(...onMain.map((e) => e.ts));
  const until = nav + untilMs * 1000;
  // Outermost tasks only (RunTask, when traced, wraps ThreadControllerImpl::RunTask).
  const tasks: TraceEvent[] = [];
  let end = -Infinity;
  for (const e of onMain.filter((x) => TOP.has(x.name) && x.ts >= nav && x.ts <= until).sort((a, b) => a.ts - b.ts || b.dur! - a.dur!)) {
    if (e.ts < end) continue;
    tasks.push(e);
    end = e.ts + e.dur!;
  }
  const cpu = tasks.map((e) => (e.tdur ?? 0) / 1000);
  const fonts = onMain.filter((e) => FONT_IPC.has(e.name) && e.ts > nav + 2e6 && e.ts <= until);
  return {
    maxTaskCpuMs: Math.max(0, ...cpu),
    cpuLongTasks: cpu.filter((c) => c > 50).length,
    mainCpuMs: cpu.reduce((a, b) => a + b, 0),
    lateFontLookups: fonts.length,
    maxFontLookupMs: Math.max(0, ...fonts.map((e) => e.dur! / 1000)),
    fontLookupsAfter: (ms) => fonts.filter((e) => e.ts > nav + ms * 1000).length,
    maxTaskCpuMsBefore: (ms) => Math.max(0, ...tasks.filter((e) => e.ts < nav + ms * 1000).map((e) => (e.tdur ?? 0) / 1000)),
  };
}
