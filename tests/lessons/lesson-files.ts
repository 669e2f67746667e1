// The shipped lessons as the page bundles them, read from disk for Node tests.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parseLesson, formatProblems, type Lesson, type LessonFiles } from '../../src/core/lessons/index.ts';

export const LESSONS_DIR = fileURLToPath(new URL('../../src/lessons', import.meta.url));

/** Every file of one lesson folder: relative name → text. */
export function readLessonFolder(dir: string): LessonFiles {
  const files: Record<string, string> = {};
  for (const f of readdirSync(dir)) if (statSync(join(dir, f)).isFile()) files[f] = readFileSync(join(dir, f), 'utf8');
  return files;
}

/** Every shipped lesson, parsed; throws with the problems of one that does not parse. */
export function shippedLessons(): Lesson[] {
  return readdirSync(LESSONS_DIR)
    .filter((d) => statSync(join(LESSONS_DIR, d)).isDirectory())
    .sort()
    .map((id) => {
      const r = parseLesson(id, readLessonFolder(join(LESSONS_DIR, id)));
      if (!r.ok) throw new Error(formatProblems(id, r.problems));
      return r.lesson;
    });
}
