/**
 * Where a lesson folder may come from (`?lesson=<url>`): the page's own origin, any https: site,
 * or http: on the teacher's own machine while they write one. The same rule as the site's CSP
 * connect-src (tools/site/headers.ts), said here in words before the browser refuses silently.
 */

// WHATWG URL, in every runtime we target; typed here because src/core compiles without the DOM and Node libs.
interface ParsedUrl {
  origin: string;
  protocol: string;
  hostname: string;
}
const { URL } = globalThis as unknown as { URL: new (url: string, base?: string) => ParsedUrl };

/** Why the page does not fetch the folder at `folder` (resolved against `page`), or undefined when it does. */
export function refusedOrigin(folder: string, page: string): string | undefined {
  const url = new URL(folder, page);
  if (url.origin === new URL(page).origin || url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && (url.hostname === 'localhost' || url.hostname === '127.0.0.1')) return undefined;
  return `${url.protocol}// is not fetched from another site: serve the lesson folder over https:// (or from localhost while you write it)`;
}
