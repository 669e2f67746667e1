/**
 * A disk for v86 that fetches only the chunks the guest reads, counts what it fetched, and keeps
 * the guest's writes in memory on top of the pristine image.
 *
 * v86 accepts any object with `get`/`set`/`load` as a disk buffer (starter.js: "loadable"); this is
 * one, so the same class serves the page (fetch with a Range header, or chunk files on hosts without
 * ranges) and Node (fs reads), and lets tests and benchmarks see bytes fetched and bytes written.
 */
export type RangeReader = (start: number, length: number) => Promise<Uint8Array>;

const BLOCK = 256; // v86 asks for multiples of 256 bytes at 256-byte offsets

export interface LazyDiskStats {
  /** Bytes fetched from the image source (whole chunks). */
  bytesFetched: number;
  chunksFetched: number;
  /** Bytes the guest wrote (counted per 256-byte block, once). */
  bytesWritten: number;
}

export class LazyDisk {
  readonly byteLength: number;
  onload: ((e: object) => void) | undefined;
  onprogress: ((e: object) => void) | undefined;
  private readonly chunks = new Map<number, Promise<Uint8Array>>();
  /** Chunks already here, for v86's synchronous peeks (it reads the MBR for the disk geometry). */
  private readonly ready = new Map<number, Uint8Array>();
  private readonly written = new Map<number, Uint8Array>();
  private fetched = 0;
  /**
   * A read the guest issued failed (network, 404, short read). v86 has no error path for disk
   * reads, so without a handler the failure becomes an unhandled rejection instead of a silent hang.
   */
  onError: ((err: Error) => void) | undefined;
  /** Called for every read the guest issues (offset and length in bytes), e.g. to mark boot phases. */
  onGuestRead: ((start: number, length: number) => void) | undefined;

  constructor(
    size: number,
    private readonly read: RangeReader,
    readonly chunkSize = 64 * 1024,
  ) {
    if (!Number.isInteger(size) || size <= 0 || size % BLOCK) throw new Error(`disk size must be a positive multiple of ${BLOCK}, got ${size}`);
    if (chunkSize % BLOCK) throw new Error(`chunk size must be a multiple of ${BLOCK}`);
    this.byteLength = size;
  }

  stats(): LazyDiskStats {
    return { bytesFetched: this.fetched, chunksFetched: this.chunks.size, bytesWritten: this.written.size * BLOCK };
  }

  load(): void {
    this.onload?.(Object.create(null));
  }

  private chunk(index: number): Promise<Uint8Array> {
    let p = this.chunks.get(index);
    if (!p) {
      const start = index * this.chunkSize;
      const length = Math.min(this.chunkSize, this.byteLength - start);
      p = this.read(start, length).then((bytes) => {
        if (bytes.length !== length) throw new Error(`disk image read at ${start}: got ${bytes.length} bytes, wanted ${length}`);
        this.fetched += length;
        this.ready.set(index, bytes);
        return bytes;
      });
      // A failed fetch is not cached: the next read retries it.
      p.catch(() => this.chunks.delete(index));
      this.chunks.set(index, p);
    }
    return p;
  }

  private chunkIndexes(start: number, length: number): number[] {
    const first = Math.floor(start / this.chunkSize);
    const last = Math.floor((start + length - 1) / this.chunkSize);
    return Array.from({ length: last - first + 1 }, (_, i) => first + i);
  }

  /** Copy [start, start+length) out of the given chunks, then lay the guest's writes on top. */
  private assemble(start: number, length: number, chunks: [index: number, bytes: Uint8Array][]): Uint8Array {
    const out = new Uint8Array(length);
    for (const [index, bytes] of chunks) {
      const chunkStart = index * this.chunkSize;
      const from = Math.max(start, chunkStart);
      const to = Math.min(start + length, chunkStart + bytes.length);
      out.set(bytes.subarray(from - chunkStart, to - chunkStart), from - start);
    }
    for (let b = Math.floor(start / BLOCK); b * BLOCK < start + length; b++) {
      const w = this.written.get(b);
      if (w) out.set(w, b * BLOCK - start);
    }
    return out;
  }

  /** The disk's current bytes in [start, start+length): image chunks with the guest's writes on top. */
  async read_range(start: number, length: number): Promise<Uint8Array> {
    const indexes = this.chunkIndexes(start, length);
    const parts = await Promise.all(indexes.map((i) => this.chunk(i)));
    return this.assemble(
      start,
      length,
      indexes.map((i, k) => [i, parts[k]]),
    );
  }

  // ---- the v86 buffer interface
  /** Synchronous read if every chunk is already fetched, else undefined (v86's contract). */
  get_from_cache(start: number, length: number): Uint8Array | undefined {
    const chunks: [number, Uint8Array][] = [];
    for (const i of this.chunkIndexes(start, length)) {
      const bytes = this.ready.get(i);
      if (!bytes) return undefined;
      chunks.push([i, bytes]);
    }
    return this.assemble(start, length, chunks);
  }

  get(start: number, length: number, fn: (data: Uint8Array) => void): void {
    this.onGuestRead?.(start, length);
    this.inFlight++;
    this.read_range(start, length)
      .then(fn, (err) => {
        const error = err instanceof Error ? err : new Error(String(err));
        if (this.onError) this.onError(error);
        else void Promise.reject(error);
      })
      .finally(() => {
        if (--this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
  }

  private inFlight = 0;
  private readonly idleWaiters: (() => void)[] = [];

  /** Guest reads issued and not yet answered. */
  get pendingReads(): number {
    return this.inFlight;
  }

  /**
   * Resolves once no guest read is outstanding. A snapshot must wait for this (with the emulator
   * stopped): a read answered after save_state() would be lost, and the restored guest would wait
   * for its disk interrupt until the kernel's ATA timeout.
   */
  whenIdle(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  get_and_cache(start: number, length: number, fn: (data: Uint8Array) => void): void {
    this.get(start, length, fn);
  }

  set(start: number, data: Uint8Array, fn: () => void): void {
    for (let off = 0; off < data.length; off += BLOCK) {
      this.written.set((start + off) / BLOCK, data.slice(off, off + BLOCK));
    }
    fn();
  }

  get_buffer(fn: (buf?: ArrayBuffer) => void): void {
    fn();
  }

  get_state(): [number, Uint8Array][][] {
    return [[...this.written]];
  }

  set_state(state: [number, Uint8Array][][]): void {
    this.written.clear();
    for (const [i, block] of state[0]) this.written.set(i, block);
  }
}
