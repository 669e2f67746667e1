// npm run bench [-- --runs N] [-- --only size,memory] [-- --param density.budgetMb=256] [-- --out DIR]
// Runs every experiment of src/core/experiments in Node N times (default 3) and writes
// bench/results.json (every run, every figure) and bench/results.md (median and spread per figure,
// the machine it ran on), then prints the Markdown.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXPERIMENTS, formatValue, median, type ExperimentResult, type Figure } from '../src/core/experiments/index.ts';
import { NodeDriver } from '../src/node/driver.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const argv = process.argv.slice(2);
const values = (name: string) => argv.flatMap((a, i) => (a === name && argv[i + 1] ? [argv[i + 1]!] : []));
const runs = Math.max(1, Number(values('--runs')[0] ?? 3) || 3);
const only = values('--only')
  .flatMap((v) => v.split(','))
  .filter(Boolean);
const outDir = values('--out')[0] ?? join(REPO, 'bench');
const params: Record<string, Record<string, number>> = {};
for (const p of values('--param')) {
  const m = /^([\w-]+)\.(\w+)=(-?[\d.]+)$/.exec(p);
  if (!m) throw new Error(`--param wants experiment.name=number, got ${p}`);
  (params[m[1]!] ??= {})[m[2]!] = Number(m[3]);
}

const unknown = only.filter((id) => !EXPERIMENTS.some((e) => e.id === id));
if (unknown.length) {
  console.error(`unknown experiment(s): ${unknown.join(', ')}; known: ${EXPERIMENTS.map((e) => e.id).join(', ')}`);
  process.exit(2);
}
const chosen = EXPERIMENTS.filter((e) => !only.length || only.includes(e.id));

interface Aggregate {
  id: string;
  side: Figure['side'];
  label: string;
  unit: Figure['unit'];
  dependsOnLoad: boolean;
  values: (number | string | boolean)[];
  median?: number;
  min?: number;
  max?: number;
}

function aggregate(results: ExperimentResult[]): Aggregate[] {
  const byId = new Map<string, Aggregate>();
  for (const r of results) {
    for (const f of r.figures) {
      let a = byId.get(f.id);
      if (!a) byId.set(f.id, (a = { id: f.id, side: f.side, label: f.label, unit: f.unit, dependsOnLoad: !!f.dependsOnLoad, values: [] }));
      a.values.push(f.value);
    }
  }
  for (const a of byId.values()) {
    const nums = a.values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    if (nums.length && nums.length === a.values.length) {
      a.median = median(nums);
      a.min = Math.min(...nums);
      a.max = Math.max(...nums);
    }
  }
  return [...byId.values()];
}

function cell(a: Aggregate): [string, string] {
  if (a.median === undefined) {
    const distinct = [...new Set(a.values.map((v) => formatValue(v, a.unit)))];
    return [distinct.join(' / '), distinct.length > 1 ? 'differs' : ''];
  }
  const spread = a.values.length > 1 ? `${formatValue(a.min!, a.unit)} – ${formatValue(a.max!, a.unit)}` : '';
  return [formatValue(a.median, a.unit), spread];
}

const driver = new NodeDriver();
const facts = await driver.facts();
const load = { start: loadavg(), end: [] as number[] };
const startedAt = new Date().toISOString();
const report: {
  id: string;
  title: string;
  runs: (ExperimentResult | { error: string })[];
  figures: Aggregate[];
  wallS: number[];
  cpuS: number[];
}[] = [];

for (const e of chosen) {
  const entry = {
    id: e.id,
    title: e.title,
    runs: [] as (ExperimentResult | { error: string })[],
    figures: [] as Aggregate[],
    wallS: [] as number[],
    cpuS: [] as number[],
  };
  report.push(entry);
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    // This process's CPU time: every emulator runs on this thread, so it is what the run would take
    // on an idle machine, where the wall time is stretched by whatever else the machine does.
    const cpu0 = process.cpuUsage();
    process.stderr.write(`[bench] ${e.id} run ${i + 1}/${runs} …\n`);
    try {
      const r = await e.run(driver, {
        params: params[e.id],
        onProgress: (p) => process.stderr.write(`[bench]   ${e.id}: ${p.message}\n`),
      });
      entry.runs.push(r);
      process.stderr.write(`[bench] ${e.id} run ${i + 1}: ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      entry.runs.push({ error: message });
      process.stderr.write(`[bench] ${e.id} run ${i + 1} FAILED: ${message.split('\n')[0]}\n`);
    } finally {
      await driver.stopAll();
      const cpu = process.cpuUsage(cpu0);
      entry.wallS.push((performance.now() - t0) / 1000);
      entry.cpuS.push((cpu.user + cpu.system) / 1e6);
    }
  }
  entry.figures = aggregate(entry.runs.filter((r): r is ExperimentResult => !('error' in r)));
}
load.end = loadavg();

const busy = Math.max(load.start[0]!, load.end[0]!) > facts.cores * 0.5;
const md: string[] = [];
md.push(`# stacklab experiments: ${runs} run${runs > 1 ? 's' : ''} each`);
md.push('');
md.push(`${startedAt} · ${facts.cpuModel} × ${facts.cores} · Node ${facts.runtimeVersion} · v86 ${facts.v86Version} · commit ${facts.commit ?? '?'}`);
md.push(
  `Load average (1 min) at start ${load.start[0]!.toFixed(2)}, at end ${load.end[0]!.toFixed(2)}.${busy ? ' **The machine was busy: wall times (marked ⏱) are not trustworthy; instruction and byte counts are.**' : ''}`,
);
md.push('');
md.push('| aspect | VM | container | host |');
md.push('|---|---|---|---|');
for (const r of report) {
  const ok = r.runs.filter((x): x is ExperimentResult => !('error' in x));
  const last = ok.at(-1);
  const failed = r.runs.length - ok.length;
  const note = failed ? ` (${failed} of ${r.runs.length} runs failed)` : '';
  md.push(
    last
      ? `| ${r.title}${note} | ${last.vm} | ${last.container} | ${last.host ?? ''} |`
      : `| ${r.title} | failed: ${(r.runs[0] as { error: string }).error.split('\n')[0]} | | |`,
  );
}
md.push('');
md.push('Summary lines are from the last run; the tables below give the median and range of every figure.');
for (const r of report) {
  md.push('');
  md.push(`## ${r.title} (\`${r.id}\`)`);
  md.push('');
  md.push(
    `Per run: wall ${r.wallS.map((x) => `${x.toFixed(0)} s`).join(', ')}; CPU of the emulating process ${r.cpuS.map((x) => `${x.toFixed(0)} s`).join(', ')}.`,
  );
  md.push('');
  md.push('| side | figure | median | range |');
  md.push('|---|---|---|---|');
  for (const a of r.figures) {
    const [m, spread] = cell(a);
    md.push(`| ${a.side} | ${a.label}${a.dependsOnLoad ? ' ⏱' : ''} | ${m} | ${spread} |`);
  }
  for (const [i, x] of r.runs.entries()) if ('error' in x) md.push(`\nRun ${i + 1} failed: ${x.error.split('\n')[0]}`);
  const notes = [...new Set(r.runs.flatMap((x) => ('error' in x ? [] : x.notes)))];
  if (notes.length) md.push('', ...notes.map((n) => `- ${n}`));
}
const markdown = md.join('\n') + '\n';

mkdirSync(outDir, { recursive: true });
writeFileSync(
  join(outDir, 'results.json'),
  JSON.stringify({ app: 'stacklab', kind: 'experiments', startedAt, runs, params, facts, load, busy, experiments: report }, null, 2),
);
writeFileSync(join(outDir, 'results.md'), markdown);
console.log(markdown);
console.error(`[bench] wrote ${join(outDir, 'results.json')} and results.md`);
process.exit(report.some((r) => r.runs.every((x) => 'error' in x)) ? 1 : 0);
