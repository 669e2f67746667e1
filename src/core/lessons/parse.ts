/**
 * Lesson folder → Lesson, or the list of problems with it, each naming its file. Pure: the files are
 * passed in (bundled by Vite in the page, read from disk in Node, fetched for `?lesson=<url>`).
 * Front matter is YAML (the `yaml` package); Markdown stays text here and is rendered by the page.
 */
import { parse as parseYaml } from 'yaml';
import { utf8Encoder } from '../mux/platform.ts';
import {
  CONTAINER_NAME,
  LESSON_ID,
  machineRole,
  SCRIPT_PHASES,
  type Lesson,
  type LessonProblem,
  type LessonStep,
  type ScriptPhase,
  type StepScript,
} from './format.ts';

/** Relative path inside the lesson folder → file text. A listed file that is missing is absent. */
export type LessonFiles = Readonly<Record<string, string>>;

export type ParseResult = { ok: true; lesson: Lesson } | { ok: false; problems: LessonProblem[] };

const FRONT_MATTER = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/;
/** A fenced block: ``` or ~~~ with an info string; the body up to the same fence. */
const FENCE = /^(```|~~~)[ \t]*([^\n`]*)\n([\s\S]*?)^\1[ \t]*$\n?/gm;
/** Largest script: the VM agent reads one line of at most 4 KiB, the script in base64 (4/3). */
export const MAX_SCRIPT_BYTES = 2800;

/** Split `---\nyaml\n---\nbody`. */
function frontMatter(file: string, text: string, problems: LessonProblem[]): { data: Record<string, unknown>; body: string } {
  const m = FRONT_MATTER.exec(text);
  if (!m) return { data: {}, body: text };
  try {
    const data = parseYaml(m[1]) ?? {};
    if (typeof data !== 'object' || Array.isArray(data)) throw new Error('it is not a list of "key: value" lines');
    return { data: data as Record<string, unknown>, body: text.slice(m[0].length) };
  } catch (e) {
    problems.push({ file, message: `its front matter is not valid YAML: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` });
    return { data: {}, body: text.slice(m[0].length) };
  }
}

/** Parse one step's Markdown: pull out script and hint blocks, keep the rest for rendering. */
function parseStep(file: string, index: number, text: string, machines: Set<string>, problems: LessonProblem[]): LessonStep {
  const scripts: StepScript[] = [];
  let hint = '';
  const markdown = text.replace(FENCE, (whole, _fence: string, info: string, body: string) => {
    const [word, machine, ...rest] = info.trim().split(/\s+/);
    if (word === 'hint') {
      hint = body.trim().split('\n')[0] ?? '';
      if (body.trim().includes('\n')) problems.push({ file, message: 'its hint has more than one line: a hint is one sentence' });
      return '';
    }
    if (!SCRIPT_PHASES.includes(word as ScriptPhase)) return whole; // an ordinary code block
    if (!machine || rest.length) {
      problems.push({ file, message: `a \`${word}\` block must name one machine (\`\`\`${word} vm1, host, c1 or page), got "${info.trim()}"` });
      return '';
    }
    if (!machines.has(machine)) {
      problems.push({
        file,
        message: `its ${word} script runs on "${machine}", which this lesson does not have (machines: ${[...machines].join(', ') || 'none'})`,
      });
      return '';
    }
    if (utf8Encoder.encode(body).length > MAX_SCRIPT_BYTES)
      problems.push({ file, message: `its ${word} script for ${machine} is over ${MAX_SCRIPT_BYTES} bytes` });
    scripts.push({ phase: word as ScriptPhase, machine, source: body });
    return '';
  });
  const heading = /^#{1,3}[ \t]+(.+)$/m.exec(markdown);
  if (!heading) problems.push({ file, message: `step ${index} has no heading (a line starting with "# ") to title it` });
  if (scripts.some((s) => s.phase === 'verify') && !hint) problems.push({ file, message: `step ${index} has a verify script but no \`\`\`hint block` });
  const md = heading ? markdown.replace(heading[0], '') : markdown;
  return { index, title: heading?.[1].trim() ?? `Step ${index}`, markdown: md.trim(), hint, scripts, file };
}

/** Split a one-file lesson's body at its "## " headings: the text before the first is the introduction. */
function splitAtH2(body: string): { intro: string; steps: string[] } {
  const parts = body.split(/^(?=## )/m);
  const intro = parts[0].startsWith('## ') ? '' : parts.shift()!;
  return { intro, steps: parts };
}

/**
 * Parse the lesson `id` from its files. `lesson.md` is required; its front matter gives `title`,
 * `minutes`, `machines` and optionally `steps` (file names in order). Without `steps`, each "## "
 * heading of lesson.md starts a step. Every problem found is returned, not just the first.
 */
export function parseLesson(id: string, files: LessonFiles): ParseResult {
  const problems: LessonProblem[] = [];
  if (!LESSON_ID.test(id)) problems.push({ file: id, message: 'a lesson id is lower-case letters, digits and "-", at most 48' });
  const main = files['lesson.md'];
  if (main === undefined) return { ok: false, problems: [...problems, { file: 'lesson.md', message: 'missing: every lesson folder needs a lesson.md' }] };
  const { data, body } = frontMatter('lesson.md', main, problems);
  const title = typeof data.title === 'string' && data.title.trim() ? data.title.trim() : '';
  if (!title) problems.push({ file: 'lesson.md', message: 'its front matter needs a title: "title: …"' });
  const minutes = typeof data.minutes === 'number' && data.minutes > 0 && data.minutes <= 120 ? data.minutes : 0;
  if (!minutes) problems.push({ file: 'lesson.md', message: 'its front matter needs minutes: a number from 1 to 120' });
  const machines = Array.isArray(data.machines) ? data.machines.map(String) : [];
  if (!Array.isArray(data.machines)) problems.push({ file: 'lesson.md', message: 'its front matter needs machines: a list such as [vm1, host, c1, page]' });
  for (const m of machines)
    if (machineRole(m) === 'container' && !CONTAINER_NAME.test(m))
      problems.push({ file: 'lesson.md', message: `"${m}" is not a machine name: vm1…vm6, host, page, or a container name` });
  const known = new Set(machines);
  let intro = body;
  const steps: LessonStep[] = [];
  if (data.steps !== undefined) {
    if (!Array.isArray(data.steps) || !data.steps.every((s) => typeof s === 'string')) {
      problems.push({ file: 'lesson.md', message: 'steps must be a list of file names, such as [01-look.md, 02-write.md]' });
    } else {
      data.steps.forEach((name: string, i: number) => {
        const text = files[name];
        if (text === undefined) problems.push({ file: name, message: `step ${i + 1} is listed in lesson.md but its file is missing` });
        else steps.push(parseStep(name, i + 1, text, known, problems));
      });
    }
  } else {
    const split = splitAtH2(body);
    intro = split.intro;
    split.steps.forEach((text, i) => steps.push(parseStep('lesson.md', i + 1, text, known, problems)));
  }
  if (!steps.length && !problems.some((p) => p.message.includes('step')))
    problems.push({ file: 'lesson.md', message: 'the lesson has no steps (list them in "steps:" or start each with "## ")' });
  if (problems.length) return { ok: false, problems };
  return { ok: true, lesson: { id, title, minutes, machines, intro: intro.trim(), steps } };
}

/**
 * "id/lesson.md: its front matter needs a title" — one line per problem, for messages and tests; a
 * problem with the lesson as a whole (file "") reads "id: …".
 */
export function formatProblems(id: string, problems: readonly LessonProblem[]): string {
  return problems.map((p) => `${p.file ? `${id}/${p.file}` : id}: ${p.message}`).join('\n');
}
