/**
 * Inside a worker thread: the page's MachineRuntime, exposed with comlink on the parent port
 * (comlink's own nodeEndpoint), so `npm run race` and `npm run bench` drive the very code the page's
 * Web Workers run. Node's uncaught exceptions and rejections are reported on the machine's row as
 * the worker's `error` and `unhandledrejection` events are in a browser. `fetch` of `file:` URLs
 * (Node's fetch has none) reads the images from disk, with Range requests for the disks, so the
 * runtime's MediaLoader and LazyDisk run as in the page.
 */
import { parentPort } from 'node:worker_threads';
import { open, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { MachineRuntime } from '../runtime/machine-runtime.ts';

if (!parentPort) throw new Error('src/node/thread.ts runs in a worker thread');

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
(globalThis as { fetch: typeof fetch }).fetch = fileFetch;

const runtime = new MachineRuntime();
process.on('uncaughtException', (err) => runtime.crashed(err, 'crashed'));
process.on('unhandledRejection', (reason) => runtime.crashed(reason, 'failed'));
Comlink.expose(runtime, nodeEndpoint(parentPort));
