/**
 * Find and parse the lesson a link names: a shipped one by id, or `?lesson=<url>` of a folder on
 * another site that serves `index.json` (`["lesson.md", "01-look.md", …]`) beside its files. Every
 * failure becomes problems naming the file, for the panel to list.
 */
import { parseLesson, refusedOrigin, type LessonFiles, type LessonProblem, type ParseResult } from '../../core/lessons/index.ts';
import { BUNDLED_LESSONS } from './bundled.ts';

/** A lesson given by URL rather than by name: `https://…`, `http://…`, `/…` or `./…`. */
export const isLessonUrl = (s: string) => /^(https?:\/\/|\.{0,2}\/)/.test(s);

async function fetchText(url: string): Promise<string | undefined> {
  const r = await fetch(url);
  if (r.status === 404) return undefined;
  if (!r.ok) throw new Error(`${r.status} ${r.statusText}`);
  return r.text();
}

/** Fetch a lesson folder by its index.json; a listed file that is missing is left out (the parser names it). */
export async function fetchLessonFiles(base: string): Promise<{ files: LessonFiles } | { problems: LessonProblem[] }> {
  const folder = base.endsWith('/') ? base : `${base}/`;
  const refused = refusedOrigin(folder, location.href);
  if (refused) return { problems: [{ file: 'index.json', message: `could not be read from ${folder}: ${refused}` }] };
  let names: unknown;
  try {
    const text = await fetchText(new URL('index.json', new URL(folder, location.href)).href);
    if (text === undefined)
      return { problems: [{ file: 'index.json', message: `not found at ${folder}: a lesson folder from another site lists its files there` }] };
    names = JSON.parse(text);
  } catch (e) {
    // fetch() says only "Failed to fetch" for every network failure (by design: no probing of other sites).
    const why =
      e instanceof TypeError
        ? 'the site did not answer, or does not let other sites read it (it must send Access-Control-Allow-Origin)'
        : e instanceof Error
          ? e.message
          : String(e);
    return { problems: [{ file: 'index.json', message: `could not be read from ${folder}: ${why}` }] };
  }
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string' && /^[\w.-]+\.md$/.test(n)))
    return { problems: [{ file: 'index.json', message: 'must be a JSON list of the folder\'s Markdown file names, e.g. ["lesson.md", "01-look.md"]' }] };
  const files: Record<string, string> = {};
  const problems: LessonProblem[] = [];
  await Promise.all(
    names.map(async (n: string) => {
      try {
        const t = await fetchText(new URL(n, new URL(folder, location.href)).href);
        if (t !== undefined) files[n] = t;
      } catch (e) {
        problems.push({ file: n, message: `could not be fetched: ${e instanceof Error ? e.message : String(e)}` });
      }
    }),
  );
  return problems.length ? { problems } : { files };
}

/** The lesson `idOrUrl`, parsed. */
export async function loadLesson(idOrUrl: string): Promise<ParseResult> {
  if (isLessonUrl(idOrUrl)) {
    const got = await fetchLessonFiles(idOrUrl);
    if ('problems' in got) return { ok: false, problems: got.problems };
    const id =
      idOrUrl
        .replace(/\/+$/, '')
        .split('/')
        .pop()!
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, '-')
        .slice(0, 48) || 'remote';
    return parseLesson(/^[a-z0-9]/.test(id) ? id : `remote-${id}`.slice(0, 48), got.files);
  }
  const files = BUNDLED_LESSONS.get(idOrUrl);
  if (!files)
    return {
      ok: false,
      problems: [{ file: '', message: `there is no lesson "${idOrUrl}" (lessons: ${[...BUNDLED_LESSONS.keys()].filter((k) => k !== 'example').join(', ')})` }],
    };
  return parseLesson(idOrUrl, files);
}
