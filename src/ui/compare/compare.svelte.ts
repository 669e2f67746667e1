/**
 * The compare page's state: one row per experiment, one experiment running at a time (others wait
 * in a queue, visibly), each run on a fresh BrowserDriver whose machines the row shows. A failed
 * run (panic, timeout, refused container) marks its row and the queue moves on.
 */
import type { DriverFacts, Experiment, ExperimentResult, ProgressEvent } from '../../core/experiments/index.ts';
import type { MachineSession } from '../machines/index.ts';
import { BrowserDriver } from './browser-driver.ts';
import { exportCsv, exportJson, type ExportedRow } from './export.ts';
import { errorText } from '../../core/errors.ts';

export type RowStatus = 'idle' | 'queued' | 'running' | 'done' | 'failed' | 'stopped';

/** A run that takes far longer than its estimate is stuck (a guest that stopped answering). */
const watchdogMs = (e: Experiment) => Math.max(180_000, e.costSeconds * 12_000);

export class ExperimentRow {
  status = $state<RowStatus>('idle');
  progress = $state<ProgressEvent | undefined>();
  result = $state<ExperimentResult | undefined>();
  error = $state<string | undefined>();
  /** The machines the last run booted (kept, powered off, so their consoles can be read). */
  machines = $state<MachineSession[]>([]);
  startedAt = $state<number | undefined>();
  finishedAt = $state<number | undefined>();
  abort: AbortController | undefined;

  constructor(readonly experiment: Experiment) {}

  get id() {
    return this.experiment.id;
  }

  get title() {
    return this.experiment.title;
  }

  exported(): ExportedRow {
    return {
      id: this.id,
      title: this.title,
      status: this.status,
      error: this.error,
      result: this.result ? ($state.snapshot(this.result) as ExperimentResult) : undefined,
    };
  }

  disposeMachines() {
    for (const m of this.machines) m.dispose();
    this.machines = [];
  }
}

export class Compare {
  readonly rows: ExperimentRow[];
  current = $state<ExperimentRow | undefined>();
  queue = $state<ExperimentRow[]>([]);
  facts = $state<DriverFacts | undefined>();

  constructor(experiments: readonly Experiment[]) {
    this.rows = experiments.map((e) => new ExperimentRow(e));
  }

  row(id: string): ExperimentRow | undefined {
    return this.rows.find((r) => r.id === id);
  }

  /** Run now, or queue behind the running experiment (two at once would share one CPU and skew both). */
  run(row: ExperimentRow): void {
    if (row.status === 'running' || row.status === 'queued') return;
    if (this.current) {
      row.status = 'queued';
      row.error = undefined;
      this.queue = [...this.queue, row];
      return;
    }
    void this.start(row);
  }

  runAll(): void {
    for (const r of this.rows) this.run(r);
  }

  /** Stop the running experiment (at its next step; its machines are powered off) or unqueue one. */
  cancel(row: ExperimentRow): void {
    if (row.status === 'queued') {
      this.queue = this.queue.filter((r) => r !== row);
      row.status = row.result ? 'done' : 'idle';
    } else if (row.status === 'running') row.abort?.abort();
  }

  cancelAll(): void {
    for (const r of [...this.queue]) this.cancel(r);
    if (this.current) this.cancel(this.current);
  }

  get anyResult(): boolean {
    return this.rows.some((r) => r.result || r.error);
  }

  exportJson(): string {
    return exportJson(
      this.rows.filter((r) => r.result || r.error).map((r) => r.exported()),
      this.facts ? ($state.snapshot(this.facts) as DriverFacts) : undefined,
    );
  }

  exportCsv(): string {
    return exportCsv(this.rows.filter((r) => r.result || r.error).map((r) => r.exported()));
  }

  dispose(): void {
    this.cancelAll();
    for (const r of this.rows) r.disposeMachines();
  }

  private async start(row: ExperimentRow): Promise<void> {
    this.current = row;
    row.disposeMachines();
    row.status = 'running';
    row.error = undefined;
    row.result = undefined;
    row.progress = { message: 'starting' };
    row.startedAt = performance.now();
    row.finishedAt = undefined;
    const abort = (row.abort = new AbortController());
    const driver = new BrowserDriver({ machine: (s) => (row.machines = [...row.machines, s]) });
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    let timedOut = false;
    try {
      this.facts ??= await driver.facts();
      const stuck = new Promise<never>((_, reject) => {
        const ms = watchdogMs(row.experiment);
        watchdog = setTimeout(() => {
          timedOut = true;
          abort.abort();
          reject(new Error(`timed out: still not finished after ${Math.round(ms / 1000)} s`));
        }, ms);
      });
      const stopped = new Promise<never>((_, reject) => abort.signal.addEventListener('abort', () => reject(new Error('stopped by the user')), { once: true }));
      const result = await Promise.race([row.experiment.run(driver, { signal: abort.signal, onProgress: (p) => (row.progress = p) }), stuck, stopped]);
      row.result = result;
      row.status = 'done';
    } catch (err) {
      if (abort.signal.aborted && !timedOut) row.status = 'stopped';
      else {
        row.error = errorText(err);
        row.status = 'failed';
      }
    } finally {
      clearTimeout(watchdog);
      // Whatever the experiment left running (after a failure or a stop) is powered off.
      await driver.stopAll().catch(() => {});
      row.finishedAt = performance.now();
      row.progress = undefined;
      row.abort = undefined;
      this.current = undefined;
      const [next, ...rest] = this.queue;
      this.queue = rest;
      if (next) void this.start(next);
    }
  }
}

export const downloadName = (ext: string) => `stacklab-compare-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}.${ext}`;
