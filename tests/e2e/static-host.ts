// The simplest static host for browser tests: whole files only (Range ignored), with the shipped
// _headers applied (what a plain host serving dist/ sends), or any other folder and headers (a
// second site, e.g. one serving a lesson folder to the page from another origin).
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve } from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import type { Page } from '@playwright/test';
import { headersFor, parseHeadersFile, type HeaderRule } from '../../tools/site/headers.ts';

/** Built by playwright.config.ts's webServer before any test runs. */
export const DIST = resolve(process.env.STACKLAB_E2E_OUT ?? 'dist');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.md': 'text/markdown; charset=utf-8',
  '.txt': 'text/plain',
};

export class StaticHost {
  readonly requests: { path: string; range: boolean }[] = [];
  /** Rewrites sw.js on its way out (to publish a "new build"). */
  swPatch: ((source: string) => string) | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly rules: HeaderRule[];
  url = '';

  /**
   * @param root the folder served at `/` (default: the build, dist/)
   * @param rules `_headers` rules applied by path (default: the build's own _headers file)
   * @param headers sent with every answer, e.g. CORS for a second site
   */
  constructor(
    readonly root = DIST,
    rules?: HeaderRule[],
    private readonly headers: Record<string, string> = {},
  ) {
    this.rules = rules ?? parseHeadersFile(readFileSync(join(DIST, '_headers'), 'utf8'));
  }

  async start() {
    this.server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      this.requests.push({ path, range: !!req.headers.range });
      let file = normalize(join(this.root, path));
      if (!file.startsWith(this.root)) return res.writeHead(403).end();
      if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
      if (!existsSync(file)) return res.writeHead(404, { 'Content-Type': 'text/plain', ...this.headers }).end('not found');
      let body: Buffer | string = readFileSync(file);
      if (path === '/sw.js' && this.swPatch) body = this.swPatch(body.toString('utf8'));
      res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', ...headersFor(path, this.rules), ...this.headers });
      res.end(body);
    });
    this.server.on('connection', (s) => (this.sockets.add(s), s.on('close', () => this.sockets.delete(s))));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  async stop() {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server = undefined;
  }
}

/** CSP violations, from the page and its workers (Chromium logs them to the console). */
export function watchCsp(page: Page): string[] {
  const seen: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) seen.push(m.text());
  });
  page.on('pageerror', (e) => {
    if (/Content Security Policy|unsafe-eval/i.test(e.message)) seen.push(e.message);
  });
  return seen;
}
