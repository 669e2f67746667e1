/**
 * Facts the page knows for a lesson's `page` checks: the student's guesses (`guess.*`) and what a
 * race measured (`race.vm-ms`, `race.container-ms`). Kept in localStorage beside the progress, so
 * a reload keeps them; cleared with the lesson's reset.
 */
import type { KeyValueStore, PageFacts } from '../../core/lessons/index.ts';

export class PageFactsStore implements PageFacts {
  values = $state<Record<string, string>>({});

  constructor(
    private readonly store: KeyValueStore,
    private readonly lessonId: string,
  ) {
    try {
      const raw = JSON.parse(store.getItem(this.key) ?? '{}');
      if (raw && typeof raw === 'object') for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') this.values[k] = v;
    } catch {
      // unreadable: start empty
    }
  }

  private get key() {
    return `stacklab.lesson.${this.lessonId}.facts`;
  }

  get(name: string): string | undefined {
    return this.values[name];
  }

  set(name: string, value: string): void {
    if (value.trim() === '') delete this.values[name];
    else this.values[name] = value.trim();
    try {
      this.store.setItem(this.key, JSON.stringify(this.values));
    } catch {
      // a full storage keeps the fact for this session only
    }
  }

  clear(): void {
    this.values = {};
    this.store.removeItem(this.key);
  }
}
