/**
 * The lessons shipped with the page: every file of every src/lessons/<id>/ folder, bundled as text
 * by Vite (the lessons' README is the teachers' manual, not a lesson).
 */
import type { LessonFiles } from '../../core/lessons/index.ts';

const raw = import.meta.glob('../../lessons/*/*.md', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;

/** Lesson id → its files (name inside the folder → text). */
export const BUNDLED_LESSONS: ReadonlyMap<string, LessonFiles> = (() => {
  const byId = new Map<string, Record<string, string>>();
  for (const [path, text] of Object.entries(raw)) {
    const m = /\/lessons\/([^/]+)\/([^/]+)$/.exec(path);
    if (!m) continue;
    if (!byId.has(m[1])) byId.set(m[1], {});
    byId.get(m[1])![m[2]] = text;
  }
  return byId;
})();

/** The shipped lessons in teaching order (issue 14's order), then any others by name. */
export const LESSON_ORDER: readonly string[] = (() => {
  const order = [
    'houses-and-apartments',
    'one-kernel',
    'containers-from-scratch',
    'blast-radius',
    'layers-and-copy-on-write',
    'density-and-memory',
    'networking',
  ];
  const ids = [...BUNDLED_LESSONS.keys()].filter((id) => id !== 'example');
  return [...order.filter((id) => ids.includes(id)), ...ids.filter((id) => !order.includes(id)).sort()];
})();
