import { describe, it, expect } from 'vitest';
import { LazyDisk } from './lazy-disk.ts';

const image = Uint8Array.from({ length: 8192 }, (_, i) => (i * 7) & 0xff);
function source() {
  const reads: [number, number][] = [];
  const read = async (start: number, length: number) => {
    reads.push([start, length]);
    return image.slice(start, start + length);
  };
  return { reads, read };
}
const get = (d: LazyDisk, start: number, len: number) => new Promise<Uint8Array>((r) => d.get(start, len, r));

describe('LazyDisk', () => {
  it('fetches only the chunks a read touches, once each', async () => {
    const s = source();
    const d = new LazyDisk(image.length, s.read, 1024);
    expect(await get(d, 1024 + 256, 512)).toEqual(image.slice(1280, 1792));
    expect(await get(d, 1024, 256)).toEqual(image.slice(1024, 1280));
    expect(s.reads).toEqual([[1024, 1024]]);
    expect(await get(d, 1792, 512)).toEqual(image.slice(1792, 2304)); // spans two chunks
    expect(s.reads).toEqual([
      [1024, 1024],
      [2048, 1024],
    ]);
    expect(d.stats()).toEqual({ bytesFetched: 2048, chunksFetched: 2, bytesWritten: 0 });
  });

  it('keeps writes on top of the image and in its state', async () => {
    const d = new LazyDisk(image.length, source().read, 1024);
    const data = new Uint8Array(512).fill(0xab);
    await new Promise<void>((r) => d.set(512, data, r));
    const back = await get(d, 256, 1024);
    expect(back.slice(0, 256)).toEqual(image.slice(256, 512));
    expect(back.slice(256, 768)).toEqual(data);
    expect(d.stats().bytesWritten).toBe(512);
    const d2 = new LazyDisk(image.length, source().read, 1024);
    d2.set_state(d.get_state());
    expect(await get(d2, 512, 512)).toEqual(data);
  });

  it('rejects a bad size and retries a failed fetch', async () => {
    expect(() => new LazyDisk(1000, source().read)).toThrow(/multiple of 256/);
    let fail = true;
    const d = new LazyDisk(
      image.length,
      async (s, l) => {
        if (fail) throw new Error('network down');
        return image.slice(s, s + l);
      },
      1024,
    );
    await expect(d.read_range(0, 256)).rejects.toThrow('network down');
    fail = false;
    expect(await d.read_range(0, 256)).toEqual(image.slice(0, 256));
  });

  it('names a short read', async () => {
    const d = new LazyDisk(image.length, async () => new Uint8Array(10), 1024);
    await expect(d.read_range(0, 256)).rejects.toThrow(/got 10 bytes, wanted 1024/);
  });
});

describe('LazyDisk errors', () => {
  it('reports a failed guest read to onError and does not call back with junk', async () => {
    const d = new LazyDisk(
      image.length,
      async () => {
        throw new Error('HTTP 404 for disk.img');
      },
      1024,
    );
    const seen: string[] = [];
    let called = false;
    const err = new Promise<void>(
      (resolve) =>
        (d.onError = (e) => {
          seen.push(e.message);
          resolve();
        }),
    );
    d.get(0, 512, () => (called = true));
    await err;
    expect(seen).toEqual(['HTTP 404 for disk.img']);
    expect(called).toBe(false);
  });
});
