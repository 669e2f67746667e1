/**
 * Lesson Markdown → safe HTML: `marked` (CommonMark + GFM) renders, DOMPurify sanitises (no
 * scripts, event handlers, `javascript:` URLs, iframes or forms), since a lesson may come from
 * another site. What was removed is reported so the page can say so.
 */
import { marked } from 'marked';
import DOMPurify from 'dompurify';

export interface RenderedMarkdown {
  html: string;
  /** What the sanitiser took out, e.g. "<script>", "onerror attribute"; empty for clean Markdown. */
  removed: string[];
}

export function renderMarkdown(markdown: string): RenderedMarkdown {
  const raw = marked.parse(markdown, { async: false, gfm: true }) as string;
  const html = DOMPurify.sanitize(raw, { USE_PROFILES: { html: true }, FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select'] });
  const removed = DOMPurify.removed.map((r) =>
    'element' in r && r.element ? `<${r.element.nodeName.toLowerCase()}>` : `${(r as { attribute?: Attr | null }).attribute?.name ?? 'an'} attribute`,
  );
  return { html, removed: [...new Set(removed)] };
}
