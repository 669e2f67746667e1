/**
 * One lesson open beside the lab: the step shown, which steps passed (kept in localStorage, so a
 * reload keeps them), the last check's result, and the actions (check, "Show me", reset). Scripts
 * reach the machines through a LessonMachines (lab-machines.ts); the rules live in src/core/lessons.
 */
import {
  loadProgress,
  resetProgress,
  runPhase,
  saveProgress,
  solveText,
  verifyStep,
  type KeyValueStore,
  type Lesson,
  type PageFacts,
  type ScriptRun,
  type ScriptRunner,
} from '../../core/lessons/index.ts';

/** The lab's machines as a lesson sees them: scripts on side channels, and typing for "Show me". */
export interface LessonMachines extends ScriptRunner {
  type(machine: string, text: string): void;
  /** Save the running machines behind these names (their resume snapshots); resolves with one line per machine saved (name, size, time). */
  keep(machines: readonly string[]): Promise<string[]>;
  /** Drop the saved state of the machines behind these names (a reset starts them afresh). */
  forget(machines: readonly string[]): Promise<void>;
}

export type CheckStatus = 'idle' | 'checking' | 'passed' | 'failed';

export class LessonSession {
  step = $state(1);
  passed = $state<number[]>([]);
  status = $state<CheckStatus>('idle');
  hint = $state('');
  runs = $state<ScriptRun[]>([]);
  /** A setup or "Show me" that could not run, in one sentence. */
  problem = $state('');
  /** After a pass: the machines being saved, then saved (a reload resumes them), or why not. */
  kept = $state<{ state: 'saving' | 'saved' | 'failed'; text: string } | undefined>();
  /** Steps whose setup ran without a problem in this page (setup runs when a step opens, or before its first check). */
  private setUp = new Set<number>();

  constructor(
    readonly lesson: Lesson,
    private readonly machines: LessonMachines,
    private readonly facts: PageFacts,
    private readonly store: KeyValueStore,
    startStep?: number,
  ) {
    const p = loadProgress(store, lesson.id, lesson.steps.length);
    this.passed = p.passed;
    this.step = startStep && startStep <= lesson.steps.length ? startStep : p.step;
    this.save();
  }

  get current() {
    return this.lesson.steps[this.step - 1];
  }

  get done(): boolean {
    return this.passed.length === this.lesson.steps.length;
  }

  go(n: number): void {
    if (n < 1 || n > this.lesson.steps.length || n === this.step) return;
    this.step = n;
    this.status = 'idle';
    this.kept = undefined;
    this.hint = this.problem = '';
    this.runs = [];
    this.save();
    void this.setup();
  }

  /** Run the step's setup scripts once its machines answer; false (with `problem` set) if one failed. */
  async setup(): Promise<boolean> {
    const step = this.current;
    if (this.setUp.has(step.index) || !step.scripts.some((s) => s.phase === 'setup')) return true;
    const runs = await runPhase(step, 'setup', this.machines, this.facts);
    const bad = runs.find((r) => r.code !== 0);
    if (step !== this.current) return !bad;
    this.problem = bad ? `Setup on ${bad.machine} did not work: ${bad.output.trim().split('\n').pop() || `exit ${bad.code}`}` : '';
    if (!bad) this.setUp.add(step.index);
    return !bad;
  }

  /** The step's check, on side channels; a pass is remembered. */
  async check(): Promise<void> {
    const step = this.current;
    this.status = 'checking';
    if (!(await this.setup())) {
      this.status = 'idle';
      return;
    }
    const r = await verifyStep(step, this.machines, this.facts);
    if (step !== this.current) return; // the student moved on meanwhile
    this.runs = r.runs;
    this.hint = r.hint;
    this.status = r.passed ? 'passed' : 'failed';
    const unreachable = r.runs.find((x) => x.code === null);
    this.problem = unreachable ? `${unreachable.machine}: ${unreachable.output}` : '';
    if (r.passed && !this.passed.includes(step.index)) this.passed = [...this.passed, step.index].sort((a, b) => a - b);
    this.save();
    if (r.passed) await this.keepMachines();
  }

  /** Save the lesson's running machines, so a reload resumes them at this point of the lesson. */
  private async keepMachines(): Promise<void> {
    // One save at a time: a second pass while saving is the same state, saved a moment later anyway.
    if (!this.lesson.machines.some((m) => m !== 'page') || this.kept?.state === 'saving') return;
    this.kept = { state: 'saving', text: 'Saving the machines…' };
    try {
      const names = await this.machines.keep(this.lesson.machines);
      this.kept = names.length ? { state: 'saved', text: `Saved ${names.join(', ')}: a reload resumes them here.` } : undefined;
    } catch (e) {
      this.kept = { state: 'failed', text: `The machines could not be saved (a reload boots them afresh): ${e instanceof Error ? e.message : String(e)}` };
    }
  }

  /** "Show me": type the step's solve into each machine's terminal, where the student sees it. */
  showMe(): void {
    this.problem = '';
    for (const { machine, text } of solveText(this.current)) {
      try {
        this.machines.type(machine, text);
      } catch (e) {
        this.problem = e instanceof Error ? e.message : String(e);
      }
    }
  }

  reset(): void {
    resetProgress(this.store, this.lesson.id);
    this.kept = undefined;
    this.machines
      .forget(this.lesson.machines)
      .catch((e: unknown) => (this.problem = `The saved machines could not be removed: ${e instanceof Error ? e.message : String(e)}`));
    this.passed = [];
    this.step = 1;
    this.status = 'idle';
    this.hint = this.problem = '';
    this.runs = [];
    this.save();
  }

  private save(): void {
    saveProgress(this.store, this.lesson.id, { step: this.step, passed: this.passed, updated: Date.now() });
  }
}
