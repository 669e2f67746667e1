import { describe, it, expect } from 'vitest';
import { CSP, HEADER_RULES, headersFor, htaccess, netlifyHeaders, nginxSnippet, parseHeadersFile } from './headers.ts';

describe('host header files', () => {
  it('the CSP lets v86 compile wasm and run blob workers, and forbids eval', () => {
    const directives = Object.fromEntries(CSP.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
    expect(directives['script-src']).toEqual(["'self'", "'wasm-unsafe-eval'"]);
    expect(directives['worker-src']).toEqual(["'self'", 'blob:']);
    expect(CSP).not.toContain("'unsafe-eval'");
  });

  it('only fetch() reaches other sites (lessons from elsewhere): https anywhere, http only on the local machine', () => {
    const directives = Object.fromEntries(CSP.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
    expect(directives['connect-src']).toEqual(["'self'", 'https:', 'http://localhost:*', 'http://127.0.0.1:*']);
    for (const d of ['default-src', 'script-src', 'worker-src', 'style-src', 'img-src', 'font-src', 'base-uri', 'form-action'])
      expect(
        directives[d].filter((s: string) => s.startsWith('http')),
        d,
      ).toEqual([]);
  });

  it("_headers parses back to the rules, and hosts' merge gives one Cache-Control per path", () => {
    const rules = parseHeadersFile(netlifyHeaders());
    expect(rules.map((r) => [r.path, r.headers])).toEqual(HEADER_RULES.map((r) => [r.path, r.headers]));
    expect(headersFor('/assets/main-abc.js', rules)['Cache-Control']).toBe('public, max-age=31536000, immutable');
    expect(headersFor('/images/vm/disk.img.chunks/00ff.bin', rules)['Cache-Control']).toMatch(/immutable/);
    expect(headersFor('/index.html', rules)['Cache-Control']).toBeUndefined();
    expect(headersFor('/sw.js', rules)['Cache-Control']).toBe('no-cache');
    for (const path of ['/', '/sw.js', '/images/host/bzImage']) expect(headersFor(path, rules)['Content-Security-Policy']).toBe(CSP);
  });

  it('Apache and nginx get the same policy and the wasm type', () => {
    for (const text of [htaccess(), nginxSnippet()]) {
      expect(text).toContain(CSP);
      expect(text).toMatch(/application\/wasm/);
      expect(text).toMatch(/immutable/);
    }
  });
});
