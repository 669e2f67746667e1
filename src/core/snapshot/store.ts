/**
 * The storage contract snapshots are written through (OPFS or IndexedDB in the browser, memory in
 * tests), and the one rule every backend keeps: a write that fails — above all a full quota — leaves
 * whatever was stored under that key before, and everything else, untouched.
 */
import { decodeHeader, type SnapshotHeader } from './format.ts';
import { errorText } from '../errors.ts';

export type StoreBackend = 'opfs' | 'indexeddb' | 'memory';

export interface StoredEntry {
  key: string;
  bytes: number;
}

export interface SnapshotStore {
  readonly backend: StoreBackend;
  /** Replace the value under `key` as one step: on failure the previous value stays. */
  put(key: string, bytes: Uint8Array): Promise<void>;
  get(key: string): Promise<Uint8Array | undefined>;
  /** The first `length` bytes (enough for a header), without reading the whole state when the backend can. */
  head(key: string, length: number): Promise<Uint8Array | undefined>;
  list(): Promise<StoredEntry[]>;
  delete(key: string): Promise<void>;
}

/** The browser refused to store more (QuotaExceededError and its older spellings). */
export function isQuotaError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { name?: string; code?: number; message?: string };
  return e.name === 'QuotaExceededError' || e.name === 'NS_ERROR_DOM_QUOTA_REACHED' || e.code === 22 || e.code === 1014 || /quota/i.test(e.message ?? '');
}

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

export class StorageFullError extends Error {
  override name = 'StorageFullError';
  constructor(
    readonly needed: number,
    readonly cause?: unknown,
  ) {
    super(
      `Browser storage is full: this snapshot needs ${mib(needed)}. Nothing already saved was lost; delete an older snapshot or free space for this site, then save again.`,
    );
  }
}

/**
 * Free bytes this origin may still store (quota − usage), when the platform can tell
 * (navigator.storage.estimate() in the browser).
 */
export type Headroom = () => Promise<number | undefined>;

/**
 * put() with a full quota turned into StorageFullError (the sentence for the card).
 * Browsers do not always spell a full quota as QuotaExceededError: Chromium's OPFS writer can fail
 * with "Failed to write data to data pipe" when its quota check cuts the stream. So with a
 * `headroom` we refuse a write that cannot fit before starting it, and read the headroom again
 * after an unrecognised failure: if the bytes did not fit, the quota was the cause.
 */
export async function storeSnapshot(store: SnapshotStore, key: string, bytes: Uint8Array, headroom?: Headroom): Promise<void> {
  const free = async () => {
    try {
      return await headroom?.();
    } catch {
      return undefined;
    }
  };
  const before = await free();
  if (before !== undefined && bytes.byteLength > before) throw new StorageFullError(bytes.byteLength);
  try {
    await store.put(key, bytes);
  } catch (err) {
    if (isQuotaError(err)) throw new StorageFullError(bytes.byteLength, err);
    const after = await free();
    if (after !== undefined && bytes.byteLength > after) throw new StorageFullError(bytes.byteLength, err);
    throw err;
  }
}

export interface ListedSnapshot extends StoredEntry {
  header?: SnapshotHeader;
  /** Why the header could not be read (a foreign or damaged file). */
  problem?: string;
}

/** Headers are small: 64 KiB covers any real one. */
const HEAD_BYTES = 64 * 1024;

export async function listSnapshots(store: SnapshotStore): Promise<ListedSnapshot[]> {
  const out: ListedSnapshot[] = [];
  for (const entry of await store.list()) {
    try {
      const head = await store.head(entry.key, HEAD_BYTES);
      out.push({ ...entry, header: head ? decodeHeader(head).header : undefined });
    } catch (err) {
      out.push({ ...entry, problem: errorText(err) });
    }
  }
  return out.sort((a, b) => (b.header?.createdAt ?? 0) - (a.header?.createdAt ?? 0));
}

/** In-memory store with an optional quota, for tests and for Node. */
export class MemoryStore implements SnapshotStore {
  readonly backend = 'memory' as const;
  private readonly data = new Map<string, Uint8Array>();

  constructor(private readonly quotaBytes = Infinity) {}

  get used(): number {
    let n = 0;
    for (const v of this.data.values()) n += v.byteLength;
    return n;
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const previous = this.data.get(key)?.byteLength ?? 0;
    if (this.used - previous + bytes.byteLength > this.quotaBytes) {
      const err = new Error(`quota of ${this.quotaBytes} bytes exceeded`);
      err.name = 'QuotaExceededError';
      throw err;
    }
    this.data.set(key, bytes.slice());
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return this.data.get(key)?.slice();
  }

  async head(key: string, length: number): Promise<Uint8Array | undefined> {
    return this.data.get(key)?.slice(0, length);
  }

  async list(): Promise<StoredEntry[]> {
    return [...this.data].map(([key, v]) => ({ key, bytes: v.byteLength }));
  }

  async delete(key: string): Promise<void> {
    this.data.delete(key);
  }
}
