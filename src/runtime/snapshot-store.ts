/**
 * Browser storage for snapshots, usable from the page and from a machine worker alike: the origin
 * private file system (OPFS) when there is one, IndexedDB otherwise. Both keep the store contract
 * (src/core/snapshot/store.ts): a failed write leaves what was there.
 *  - OPFS: createWritable() writes to a swap file that replaces the file only on close(); a failed
 *    write is aborted, and a file that did not exist before is removed again.
 *  - IndexedDB: one put() per transaction; a quota error aborts the transaction.
 */
import { SNAPSHOT_DIR, type SnapshotStore, type StoredEntry } from '../core/snapshot/index.ts';

/** Bytes per OPFS write(); see put(). */
const WRITE_SLICE = 64 * 1024;

type Dir = FileSystemDirectoryHandle & { values(): AsyncIterable<FileSystemHandle> };

export class OpfsStore implements SnapshotStore {
  readonly backend = 'opfs' as const;
  private constructor(private readonly dir: Dir) {}

  static async open(): Promise<OpfsStore> {
    const root = await navigator.storage.getDirectory();
    return new OpfsStore((await root.getDirectoryHandle(SNAPSHOT_DIR, { create: true })) as Dir);
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    let existed = true;
    try {
      await this.dir.getFileHandle(key);
    } catch {
      existed = false;
    }
    const file = await this.dir.getFileHandle(key, { create: true });
    let w: FileSystemWritableFileStream | undefined;
    try {
      w = await file.createWritable({ keepExistingData: false });
      // In slices: one big write() streams through a data pipe that Chromium closes when the
      // quota runs out, and the caller then sees "Failed to write data to data pipe" instead of
      // QuotaExceededError. A slice that fits in the pipe is answered with the real error.
      for (let at = 0; at < bytes.byteLength; at += WRITE_SLICE) {
        await w.write(bytes.subarray(at, at + WRITE_SLICE) as Uint8Array<ArrayBuffer>);
      }
      await w.close();
    } catch (err) {
      await w?.abort().catch(() => {});
      if (!existed) await this.dir.removeEntry(key).catch(() => {});
      throw err;
    }
  }

  private async file(key: string): Promise<File | undefined> {
    try {
      return await (await this.dir.getFileHandle(key)).getFile();
    } catch {
      return undefined;
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const f = await this.file(key);
    return f && new Uint8Array(await f.arrayBuffer());
  }

  async head(key: string, length: number): Promise<Uint8Array | undefined> {
    const f = await this.file(key);
    return f && new Uint8Array(await f.slice(0, length).arrayBuffer());
  }

  async list(): Promise<StoredEntry[]> {
    const out: StoredEntry[] = [];
    for await (const h of this.dir.values()) {
      if (h.kind !== 'file' || !h.name.endsWith('.snap')) continue;
      out.push({ key: h.name, bytes: (await (h as FileSystemFileHandle).getFile()).size });
    }
    return out;
  }

  async delete(key: string): Promise<void> {
    await this.dir.removeEntry(key).catch(() => {});
  }
}

const DB = 'stacklab';
const STORE = 'snapshots';

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

export class IdbStore implements SnapshotStore {
  readonly backend = 'indexeddb' as const;
  private constructor(private readonly db: IDBDatabase) {}

  static async open(): Promise<IdbStore> {
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => r.result.createObjectStore(STORE);
    return new IdbStore(await request(r));
  }

  private tx(mode: IDBTransactionMode) {
    return this.db.transaction(STORE, mode).objectStore(STORE);
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const t = this.db.transaction(STORE, 'readwrite');
    t.objectStore(STORE).put(new Blob([bytes as Uint8Array<ArrayBuffer>]), key);
    await new Promise<void>((resolve, reject) => {
      t.oncomplete = () => resolve();
      t.onabort = () => reject(t.error ?? new Error('the IndexedDB write was aborted'));
      t.onerror = () => reject(t.error);
    });
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const b = (await request(this.tx('readonly').get(key))) as Blob | undefined;
    return b && new Uint8Array(await b.arrayBuffer());
  }

  async head(key: string, length: number): Promise<Uint8Array | undefined> {
    const b = (await request(this.tx('readonly').get(key))) as Blob | undefined;
    return b && new Uint8Array(await b.slice(0, length).arrayBuffer());
  }

  async list(): Promise<StoredEntry[]> {
    const store = this.tx('readonly');
    const keys = (await request(store.getAllKeys())) as string[];
    const out: StoredEntry[] = [];
    for (const key of keys) {
      const b = (await request(this.tx('readonly').get(key))) as Blob | undefined;
      if (b) out.push({ key, bytes: b.size });
    }
    return out;
  }

  async delete(key: string): Promise<void> {
    await request(this.tx('readwrite').delete(key));
  }
}

let opened: Promise<SnapshotStore> | undefined;

/** OPFS when this context has it, IndexedDB otherwise. One store per context. */
export function openSnapshotStore(): Promise<SnapshotStore> {
  opened ??= (async () => {
    if (typeof navigator !== 'undefined' && typeof navigator.storage?.getDirectory === 'function') {
      try {
        return await OpfsStore.open();
      } catch {
        // OPFS can be missing or blocked (private windows): fall through to IndexedDB.
      }
    }
    return IdbStore.open();
  })();
  return opened;
}

export interface StorageUse {
  usedBytes?: number;
  quotaBytes?: number;
  persisted?: boolean;
}

/** Ask the browser to keep this site's storage under pressure (it may say no), and report usage. */
export async function storageUse(askPersist = false): Promise<StorageUse> {
  const s = typeof navigator !== 'undefined' ? navigator.storage : undefined;
  if (!s) return {};
  let persisted = await s.persisted?.().catch(() => undefined);
  if (askPersist && !persisted) persisted = await s.persist?.().catch(() => undefined);
  const e = await s.estimate?.().catch(() => undefined);
  return { usedBytes: e?.usage, quotaBytes: e?.quota, persisted };
}
