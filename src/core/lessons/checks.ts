/**
 * Running a step's scripts: setup, verify (the check) and solve, each on the machine it names, through
 * a ScriptRunner the platform supplies (the page's machines, or real guests in Node). A check passes
 * when every verify script exits 0; it looks at the end state, never at what was typed.
 */
import type { LessonStep, MachineName, ScriptPhase, StepScript } from './format.ts';
import type { ScriptResult } from './vm-agent.ts';

export type { ScriptResult };

/** Runs a sh script on a machine by a side channel (never the student's terminal). Rejects when the machine cannot be reached. */
export interface ScriptRunner {
  run(machine: MachineName, source: string): Promise<ScriptResult>;
}

/** Facts the page measured (a finished race, typed predictions), for `page` scripts. */
export interface PageFacts {
  get(name: string): string | undefined;
}

/** One script's run: exit code (null when the machine could not be reached), output, and wall time in ms. */
export interface ScriptRun {
  machine: MachineName;
  code: number | null;
  output: string;
  ms: number;
}

export interface CheckResult {
  passed: boolean;
  /** The step's hint when the check failed, else ''. */
  hint: string;
  runs: ScriptRun[];
}

const clock = (): number => (globalThis as unknown as { performance: { now(): number } }).performance.now();

/** A `page` script: every non-empty, non-comment line names a fact that must be known. */
export function checkPageFacts(source: string, facts: PageFacts): ScriptResult {
  const wanted = source
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const missing = wanted.filter((name) => facts.get(name) === undefined);
  return missing.length
    ? { code: 1, output: `not yet known: ${missing.join(', ')}` }
    : { code: 0, output: wanted.map((n) => `${n}=${facts.get(n)}`).join('\n') };
}

async function runOne(script: StepScript, runner: ScriptRunner, facts: PageFacts): Promise<ScriptRun> {
  const t0 = clock();
  try {
    const r = script.machine === 'page' ? checkPageFacts(script.source, facts) : await runner.run(script.machine, script.source);
    return { machine: script.machine, code: r.code, output: r.output, ms: clock() - t0 };
  } catch (e) {
    return { machine: script.machine, code: null, output: e instanceof Error ? e.message : String(e), ms: clock() - t0 };
  }
}

/** Run the step's scripts of one phase in order (setup and solve stop at the first that fails). */
export async function runPhase(step: LessonStep, phase: ScriptPhase, runner: ScriptRunner, facts: PageFacts): Promise<ScriptRun[]> {
  const runs: ScriptRun[] = [];
  for (const s of step.scripts.filter((x) => x.phase === phase)) {
    const r = await runOne(s, runner, facts);
    runs.push(r);
    if (r.code !== 0 && phase !== 'verify') break;
  }
  return runs;
}

/** The step's check: every verify script exits 0. A step without one passes when it is reached. */
export async function verifyStep(step: LessonStep, runner: ScriptRunner, facts: PageFacts): Promise<CheckResult> {
  const runs = await runPhase(step, 'verify', runner, facts);
  const passed = runs.every((r) => r.code === 0);
  return { passed, hint: passed ? '' : step.hint, runs };
}

/** The text "Show me" types into `machine`'s terminal: the step's solve scripts for it, as typed lines. */
export function solveText(step: LessonStep): { machine: MachineName; text: string }[] {
  return step.scripts
    .filter((s) => s.phase === 'solve' && s.machine !== 'page')
    .map((s) => ({ machine: s.machine, text: s.source.endsWith('\n') ? s.source : `${s.source}\n` }));
}

/**
 * A `solve page` block: what "Show me" does on the page itself, one action per line:
 *   `set <fact> <value>`    fill in a fact (e.g. a sample prediction)
 *   `race <vm>`             power-cycle that VM and start a new container on the host, both timed:
 *                           facts `race.vm-ms` (power-on → login:) and `race.container-ms` (request → prompt)
 */
export type PageAction = { verb: 'set'; fact: string; value: string } | { verb: 'race'; vm: string };

/** The page actions of a step's `solve page` blocks; a line that is not one is an error naming it. */
export function pageActions(step: LessonStep): PageAction[] {
  const out: PageAction[] = [];
  for (const s of step.scripts.filter((x) => x.phase === 'solve' && x.machine === 'page'))
    for (const line of s.source
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))) {
      const [verb, a, ...rest] = line.split(/\s+/);
      if (verb === 'set' && a && rest.length) out.push({ verb, fact: a, value: rest.join(' ') });
      else if (verb === 'race' && a && !rest.length) out.push({ verb, vm: a });
      else throw new Error(`${step.file}: "${line}" is not a page action (set <fact> <value>, race <vm>)`);
    }
  return out;
}

/** Replace `{{fact}}` in a step's Markdown with the fact's value, or "…" while it is unknown. */
export function fillFacts(markdown: string, facts: PageFacts): string {
  return markdown.replace(/\{\{\s*([a-z0-9.-]+)\s*\}\}/gi, (_, name: string) => facts.get(name) ?? '…');
}

/** The `guess.*` facts a step's page check asks for: the page shows a box for each. */
export function guessesAsked(step: LessonStep): string[] {
  return step.scripts
    .filter((s) => s.phase === 'verify' && s.machine === 'page')
    .flatMap((s) => s.source.split('\n').map((l) => l.trim()))
    .filter((l) => l.startsWith('guess.'));
}
