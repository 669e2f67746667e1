/**
 * The compare page's results as files: JSON with everything (figures, series, evidence, notes,
 * failures, the browser it ran in) and CSV with one line per figure, for a spreadsheet.
 */
import type { DriverFacts, ExperimentResult } from '../../core/experiments/index.ts';

export interface ExportedRow {
  id: string;
  title: string;
  status: string;
  /** What failed, for a failed run. */
  error?: string;
  result?: ExperimentResult;
}

export interface CompareExport {
  tool: 'stacklab compare';
  exportedAt: string;
  facts?: DriverFacts;
  /** Timings depend on the load of the computer the emulator ran on; counts of bytes and instructions do not. */
  caveat: string;
  experiments: ExportedRow[];
}

export function exportJson(rows: ExportedRow[], facts: DriverFacts | undefined, now = new Date()): string {
  const doc: CompareExport = {
    tool: 'stacklab compare',
    exportedAt: now.toISOString(),
    facts,
    caveat: 'wall-time figures depend on the load of the computer that ran the emulator; byte and instruction counts do not',
    experiments: rows,
  };
  return JSON.stringify(doc, null, 2) + '\n';
}

const CSV_COLUMNS = ['experiment', 'figure', 'side', 'label', 'value', 'unit', 'dependsOnLoad', 'how'] as const;

function csvCell(v: unknown): string {
  const s = v === undefined || v === null ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One line per figure; a failed experiment gets one line saying what failed. */
export function exportCsv(rows: ExportedRow[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const row of rows) {
    if (row.error) lines.push([row.id, 'error', '', row.error, '', 'text', '', ''].map(csvCell).join(','));
    for (const f of row.result?.figures ?? [])
      lines.push([row.id, f.id, f.side, f.label, f.value, f.unit, f.dependsOnLoad ? 'yes' : '', f.how ?? ''].map(csvCell).join(','));
  }
  return lines.join('\n') + '\n';
}
