/**
 * The results as text: the page's results table (rank, machine, kind, time, a container's own
 * start and its time including the host's boot, guest instructions, one line of why) with each row's phase split, the race summary, and the console tail of every
 * machine that did not finish.
 */
import {
  phaseLabel,
  phasesOfKind,
  formatInstructions,
  phaseDurations,
  raceSummary,
  type RaceMode,
  type RankedResult,
  type ResultKind,
} from '../core/machine/index.ts';
import type { Unfinished } from './race.ts';

const KIND_LABEL: Record<ResultKind, string> = { vm: 'VM', host: 'container host', container: 'container' };

/** "BIOS 412 · Bootloader 230 · …" in ms, each phase from its start to the next reached one. */
export function phaseSplit(r: RankedResult): string {
  return phaseDurations(r.marks)
    .map((p) => `${phaseLabel(phasesOfKind(r.kind), p.phase)} ${Math.round(p.wallMs)}`)
    .join(' · ');
}

export interface Identity {
  id: string;
  /** e.g. "hostname c1, Linux 6.12.9, PID 1 is host PID 57" */
  text: string;
}

/** Rows from rankRace for the race run in `mode`; the summary is the page's (raceSummary). */
export function resultsTable(ranked: readonly RankedResult[], mode: RaceMode, identities: readonly Identity[] = []): string {
  const ms = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(1));
  const head = ['#', 'machine', 'kind', 'time ms', 'own start ms', 'with host boot ms', 'instructions'];
  const rows = ranked.map((r) => [
    r.rank === undefined ? '–' : String(r.rank),
    r.name,
    r.beforeRace ? `${KIND_LABEL[r.kind]}, before the race` : KIND_LABEL[r.kind],
    ms(r.bootMs),
    ms(r.ownStartMs),
    ms(r.withHostBootMs),
    r.instructions === undefined ? '–' : `${formatInstructions(r.instructions)} (${r.instructions})`,
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const right = new Set([0, 3, 4, 5, 6]);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(width[i]) : c.padEnd(width[i])))
      .join('  ')
      .trimEnd();
  const indent = ' '.repeat(width[0] + 2);
  const out = [line(head), width.map((w) => '-'.repeat(w)).join('  ')];
  ranked.forEach((r, i) => {
    out.push(line(rows[i]));
    out.push(`${indent}why: ${r.explanation}`);
    const split = phaseSplit(r);
    if (split) out.push(`${indent}phases (ms): ${split}`);
    const who = identities.find((x) => x.id === r.id);
    if (who) out.push(`${indent}inside: ${who.text}`);
  });
  const summary = raceSummary(ranked, mode);
  if (summary.length) out.push('', ...summary);
  return out.join('\n');
}

export function unfinishedReport(list: readonly Unfinished[]): string {
  return list
    .map((u) =>
      (u.tail.length
        ? [`${u.name} did not finish: ${u.why}`, `--- last console lines of ${u.name} ---`, ...u.tail, '---']
        : [`${u.name} did not finish: ${u.why} (nothing on its console)`]
      ).join('\n'),
    )
    .join('\n\n');
}
