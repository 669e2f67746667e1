// Every step of every shipped lesson, on real guests: setup runs, the check fails with its hint,
// the solve is typed into the machines' terminals, the check then passes. A lesson whose solve does
// not satisfy its verify fails here. Prints how long each check took (wall ms, loaded machine).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pageActions, runPhase, solveText, verifyStep, type CheckResult } from '../../src/core/lessons/index.ts';
import { shippedLessons } from '../lessons/lesson-files.ts';
import { NodeLessonLab } from '../lessons/node-lab.ts';
import { hostHasContainerImages } from './harness.ts';

const only = process.env.STACKLAB_LESSONS?.split(',');
const lessons = shippedLessons().filter((l) => !only || only.includes(l.id));
const timings: { lesson: string; step: number; machine: string; ms: number; instructions: number; passed: boolean }[] = [];

/** Check until it passes: the solve was typed and runs at the guest's pace. */
async function verifyUntilPassed(check: () => Promise<CheckResult>, timeoutMs: number): Promise<CheckResult> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const r = await check();
    if (r.passed || performance.now() > deadline) return r;
    await new Promise((res) => setTimeout(res, 300));
  }
}

for (const lesson of lessons) {
  describe.skipIf(!hostHasContainerImages())(`lesson ${lesson.id}`, () => {
    const lab = new NodeLessonLab();
    beforeAll(() => lab.start(lesson), 180_000);
    afterAll(() => lab.stop());

    for (const step of lesson.steps) {
      it(`step ${step.index}: ${step.title}`, async () => {
        const setup = await runPhase(step, 'setup', lab, lab.pageFacts);
        expect(
          setup.filter((r) => r.code !== 0),
          'setup failed',
        ).toEqual([]);
        if (!step.scripts.some((s) => s.phase === 'verify')) return;
        const record = (c: CheckResult) => {
          const counts = lab.instructions.splice(0);
          c.runs
            .filter((r) => r.machine !== 'page')
            .forEach((r, i) =>
              timings.push({ lesson: lesson.id, step: step.index, machine: r.machine, ms: r.ms, instructions: counts[i] ?? 0, passed: r.code === 0 }),
            );
        };
        lab.instructions.length = 0;
        const before = await verifyStep(step, lab, lab.pageFacts);
        record(before);
        expect(
          before.runs.every((r) => r.code !== null),
          `a check could not reach its machine: ${JSON.stringify(before.runs)}`,
        ).toBe(true);
        expect(before.passed, 'the check passes before the work is done').toBe(false);
        expect(before.hint).toBe(step.hint);
        for (const { machine, text } of solveText(step)) lab.type(machine, text);
        for (const a of pageActions(step)) await lab.act(a);
        lab.instructions.length = 0;
        const after = await verifyUntilPassed(async () => {
          lab.instructions.length = 0;
          return verifyStep(step, lab, lab.pageFacts);
        }, 30_000);
        record(after);
        expect(
          after.passed,
          `the solve does not satisfy the check: ${JSON.stringify(after.runs)}\n${step.scripts.map((s) => lab.screen(s.machine)).join('\n---\n')}`,
        ).toBe(true);
      }, 90_000);
    }
  });
}

afterAll(() => {
  if (!timings.length) return;
  console.log('\nlesson check times: wall ms (the machine is shared: trust the guest instructions) and guest instructions on the machine that ran the check:');
  console.table(timings.map((t) => ({ ...t, ms: Math.round(t.ms), instructions: `${(t.instructions / 1e6).toFixed(1)} M` })));
});
