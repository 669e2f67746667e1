import { describe, expect, it } from 'vitest';
import { formatProblems, parseLesson } from './parse.ts';
import { shippedLessons } from '../../../tests/lessons/lesson-files.ts';

const ONE_FILE = `---
title: T
minutes: 3
machines: [vm1, host, c1, page]
---
Intro text.

## First

Do it.

\`\`\`sh
echo shown
\`\`\`

\`\`\`verify vm1
test -f /root/x
\`\`\`

\`\`\`hint
Make /root/x.
\`\`\`

\`\`\`solve vm1
touch /root/x
\`\`\`

## Second

\`\`\`verify page
race.finished
\`\`\`

\`\`\`hint
Run the race.
\`\`\`
`;

describe('parseLesson', () => {
  it('reads a one-file lesson: steps at "## ", scripts and hints taken out, other code blocks kept', () => {
    const r = parseLesson('t', { 'lesson.md': ONE_FILE });
    if (!r.ok) throw new Error(formatProblems('t', r.problems));
    expect(r.lesson).toMatchObject({ id: 't', title: 'T', minutes: 3, machines: ['vm1', 'host', 'c1', 'page'], intro: 'Intro text.' });
    expect(r.lesson.steps.map((s) => s.title)).toEqual(['First', 'Second']);
    const [first, second] = r.lesson.steps;
    expect(first.hint).toBe('Make /root/x.');
    expect(first.scripts).toEqual([
      { phase: 'verify', machine: 'vm1', source: 'test -f /root/x\n' },
      { phase: 'solve', machine: 'vm1', source: 'touch /root/x\n' },
    ]);
    expect(first.markdown).toContain('echo shown');
    expect(first.markdown).not.toContain('verify');
    expect(second.scripts[0]).toMatchObject({ phase: 'verify', machine: 'page' });
  });

  it('reads steps from the files listed in "steps:"', () => {
    const r = parseLesson('t', {
      'lesson.md': '---\ntitle: T\nminutes: 1\nmachines: [host]\nsteps: [a.md, b.md]\n---\nIntro',
      'a.md': '# A\ntext\n```setup host\ntrue\n```\n',
      'b.md': '# B\n',
    });
    expect(r.ok && r.lesson.steps.map((s) => [s.index, s.title, s.file])).toEqual([
      [1, 'A', 'a.md'],
      [2, 'B', 'b.md'],
    ]);
  });

  it('names the file and the problem: missing step file, unknown machine, no hint, bad front matter', () => {
    const r = parseLesson('bad', {
      'lesson.md': '---\ntitle: Bad\nminutes: 5\nmachines: [vm1]\nsteps: [01.md, 02.md, 03.md]\n---\n',
      '01.md': '# One\n```verify vm9\ntrue\n```\n```hint\nh\n```\n',
      '03.md': '# Three\n```verify vm1\ntrue\n```\n',
    });
    expect(r.ok).toBe(false);
    const text = !r.ok ? formatProblems('bad', r.problems) : '';
    expect(text).toContain('bad/01.md: its verify script runs on "vm9", which this lesson does not have (machines: vm1)');
    expect(text).toContain('bad/02.md: step 2 is listed in lesson.md but its file is missing');
    expect(text).toContain('bad/03.md: step 3 has a verify script but no ```hint block');
    const fm = parseLesson('x', { 'lesson.md': '---\ntitle: [unclosed\n---\n## S\n' });
    expect(!fm.ok && formatProblems('x', fm.problems)).toMatch(/x\/lesson.md: its front matter is not valid YAML/);
    const none = parseLesson('x', {});
    expect(!none.ok && none.problems).toEqual([{ file: 'lesson.md', message: 'missing: every lesson folder needs a lesson.md' }]);
  });

  it('refuses a script block without a machine and a hint of two lines', () => {
    const r = parseLesson('x', { 'lesson.md': '---\ntitle: X\nminutes: 1\nmachines: [host]\n---\n## S\n```verify\ntrue\n```\n```hint\none\ntwo\n```\n' });
    const text = !r.ok ? formatProblems('x', r.problems) : '';
    expect(text).toContain('a `verify` block must name one machine');
    expect(text).toContain('its hint has more than one line');
  });

  it('parses every shipped lesson without a problem; every step with a check can be solved', () => {
    const lessons = shippedLessons();
    expect(lessons.map((l) => l.id)).toContain('example');
    for (const l of lessons)
      for (const s of l.steps)
        if (s.scripts.some((x) => x.phase === 'verify'))
          expect(
            s.scripts.some((x) => x.phase === 'solve'),
            `${l.id} step ${s.index} has a verify but no solve`,
          ).toBe(true);
  });

  it('names a problem with the lesson as a whole once, not as a file inside it', () => {
    expect(formatProblems('one-kernel-or-many', [{ file: '', message: 'there is no lesson "one-kernel-or-many"' }])).toBe(
      'one-kernel-or-many: there is no lesson "one-kernel-or-many"',
    );
  });
});
