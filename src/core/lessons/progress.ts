/**
 * A student's progress through lessons, kept in the browser (localStorage in the page): which step
 * each lesson is at and which steps passed. No accounts, no server. The storage is passed in.
 */

/** What the page keeps per lesson. `passed` holds 1-based step numbers whose check passed. */
export interface LessonProgress {
  step: number;
  passed: number[];
  /** When a check last passed, ms since the epoch (for the export). */
  updated: number;
}

/** The part of the Web Storage API progress needs (localStorage in the page, a Map in tests). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const KEY = (id: string) => `stacklab.lesson.${id}`;

/** The stored progress of lesson `id` (step 1, nothing passed when none or unreadable), steps clamped to 1..`steps`. */
export function loadProgress(store: KeyValueStore, id: string, steps: number): LessonProgress {
  const fresh: LessonProgress = { step: 1, passed: [], updated: 0 };
  let raw: unknown;
  try {
    raw = JSON.parse(store.getItem(KEY(id)) ?? 'null');
  } catch {
    return fresh;
  }
  if (!raw || typeof raw !== 'object') return fresh;
  const r = raw as Partial<LessonProgress>;
  const inRange = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= steps;
  return {
    step: inRange(r.step) ? r.step : 1,
    passed: Array.isArray(r.passed) ? [...new Set(r.passed.filter(inRange))].sort((a, b) => a - b) : [],
    updated: typeof r.updated === 'number' ? r.updated : 0,
  };
}

export function saveProgress(store: KeyValueStore, id: string, p: LessonProgress): void {
  try {
    store.setItem(KEY(id), JSON.stringify(p));
  } catch {
    // A full or disabled storage loses the progress of this session only; the lesson keeps working.
  }
}

export function resetProgress(store: KeyValueStore, id: string): void {
  store.removeItem(KEY(id));
}
