/**
 * Inside a worker thread: give workers/machine.worker.ts the few web-worker globals it uses, then
 * run it unchanged, so the headless race drives the very code the page's Web Workers run.
 *   - `self`, `postMessage`, `addEventListener('message')`: the parent port, as comlink expects;
 *   - `addEventListener('error' | 'unhandledrejection')`: Node's uncaught exception/rejection;
 *   - `fetch` of `file:` URLs (Node's fetch has none): the images read from disk, with Range
 *     requests for the VM disk, so the worker's MediaLoader and LazyDisk run as in the page.
 */
import { parentPort } from 'node:worker_threads';
import { open, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

if (!parentPort) throw new Error('src/node/thread.ts runs in a worker thread');
const parent = parentPort;

type Listener = (event: unknown) => void;
const g = globalThis as unknown as Record<string, unknown>;

g.self = globalThis;
g.postMessage = (message: unknown, transfer?: readonly unknown[]) => parent.postMessage(message, (transfer ?? []) as never);
g.addEventListener = (type: string, fn: Listener) => {
  if (type === 'message') parent.on('message', (data: unknown) => fn({ data }));
  else if (type === 'error') process.on('uncaughtException', (err) => fn({ message: err.message, error: err }));
  else if (type === 'unhandledrejection') process.on('unhandledRejection', (reason) => fn({ reason }));
};

const webFetch = globalThis.fetch;

/** `file:` URLs from disk; anything else goes to Node's own fetch. */
async function fileFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const url = input instanceof Request ? input.url : String(input);
  if (!url.startsWith('file:')) return webFetch(input, init);
  const path = fileURLToPath(url);
  const range = /^bytes=(\d+)-(\d+)$/.exec(new Headers(init?.headers).get('range') ?? '');
  if (!range) return new Response(await readFile(path));
  const file = await open(path, 'r');
  try {
    const size = (await file.stat()).size;
    const start = Number(range[1]);
    const end = Math.min(Number(range[2]), size - 1);
    if (start >= size || end < start) return new Response(null, { status: 416, headers: { 'content-range': `bytes */${size}` } });
    const body = new Uint8Array(end - start + 1);
    const { bytesRead } = await file.read(body, 0, body.length, start);
    return new Response(body.subarray(0, bytesRead), { status: 206, headers: { 'content-range': `bytes ${start}-${start + bytesRead - 1}/${size}` } });
  } finally {
    await file.close();
  }
}
g.fetch = fileFetch;

await import('../../workers/machine.worker.ts');
