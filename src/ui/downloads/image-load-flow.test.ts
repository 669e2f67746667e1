import { describe, it, expect } from 'vitest';
import { tinyTar } from '../../../tests/unit/fixtures/tiny-tar.ts';
import { ImageLoadFlow, cancelledBeforeSending } from './image-load-flow.ts';
import type { ImageArchiveTarget } from './image-upload.ts';

/** The flow with plain fields (the page's HostImageLoad makes them $state). */
class Flow extends ImageLoadFlow {
  busy: string | undefined;
  taken = 0;
  total = 0;
  cancelling = false;
  loaded: string | undefined;
  error: string | undefined;
}

/** A promise and its settle functions, for a step the test releases. */
function gate<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const file = (name: string, bytes: Uint8Array, read: Promise<void> = Promise.resolve()) => ({
  name,
  size: bytes.length,
  arrayBuffer: async () => (await read, bytes.slice().buffer),
});

/** A host whose boxLoad reports `taken` of the archive then waits for `answer`; its abortBoxLoad is `abort`. */
function host(taken: (total: number) => number, answer: Promise<{ code: number; text: string }>, abort: () => Promise<boolean>) {
  const calls: string[] = [];
  const target: ImageArchiveTarget = {
    async boxLoad(archive, _name, _stall, onProgress) {
      calls.push('boxLoad');
      onProgress?.(taken(archive.length), archive.length);
      return answer;
    },
    abortBoxLoad: () => (calls.push('abortBoxLoad'), abort()),
  };
  return { target, calls };
}

describe('ImageLoadFlow (the page’s Load image… and its Cancel)', () => {
  it('a Cancel while the file is still being read sends nothing and says so', async () => {
    const read = gate<void>();
    const h = host(
      () => 0,
      new Promise(() => {}),
      async () => true,
    );
    const flow = new Flow(() => h.target);
    const done = flow.load(file('a.tar', tinyTar(), read.promise));
    expect(flow.canCancel).toBe(true);
    await flow.cancel();
    expect(flow.cancelling).toBe(true);
    read.resolve();
    await done;
    expect(h.calls).toEqual([]);
    expect(flow.error).toBe(cancelledBeforeSending('a.tar'));
    expect(flow.busy).toBeUndefined();
  });

  it('“Could not cancel” stays in front of the load’s own outcome, on one line', async () => {
    const answer = gate<{ code: number; text: string }>();
    const h = host(
      () => 512,
      answer.promise,
      async () => Promise.reject(new Error('the worker is gone')),
    );
    const flow = new Flow(() => h.target);
    const done = flow.load(file('b.tar', tinyTar()));
    await expect.poll(() => flow.taken).toBe(512);
    await flow.cancel();
    expect(flow.error).toBe('Could not cancel: the worker is gone');
    answer.reject(new Error('box load b.tar: boxd took no bytes for 60000 ms (512 of 1536 taken): aborted'));
    await done;
    expect(flow.error).toBe(
      'Could not cancel: the worker is gone; then: Could not load b.tar: box load b.tar: boxd took no bytes for 60000 ms (512 of 1536 taken): aborted',
    );
  });

  it('a Cancel the worker never answers gives up after its bound, and may be tried again', async () => {
    const h = host(
      () => 512,
      new Promise(() => {}),
      () => new Promise(() => {}),
    );
    const flow = new Flow(() => h.target, 30);
    void flow.load(file('c.tar', tinyTar()));
    await expect.poll(() => flow.taken).toBe(512);
    await flow.cancel();
    expect(flow.error).toBe('Could not cancel: the machine did not answer within 0.03 s');
    expect(flow.cancelling).toBe(false);
    expect(flow.canCancel).toBe(true);
  });

  it('no Cancel once boxd has every byte (it would ignore LOAD_ABORT): box load’s answer stands', async () => {
    const answer = gate<{ code: number; text: string }>();
    const h = host(
      (n) => n,
      answer.promise,
      async () => true,
    );
    const flow = new Flow(() => h.target);
    const done = flow.load(file('d.tar', tinyTar()));
    await expect.poll(() => flow.taken).toBe(1536);
    expect(flow.canCancel).toBe(false);
    await flow.cancel();
    expect(h.calls).toEqual(['boxLoad']);
    answer.resolve({ code: 0, text: 'Loaded image: d:v1\n' });
    await done;
    expect(flow.loaded).toBe('Loaded image: d:v1');
    expect(flow.error).toBeUndefined();
  });
});
