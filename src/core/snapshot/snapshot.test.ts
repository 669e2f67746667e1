import { describe, expect, it } from 'vitest';
import {
  MemoryStore,
  SnapshotFormatError,
  SnapshotMismatchError,
  StorageFullError,
  assertConfigMatches,
  configMismatch,
  decodeHeader,
  decodeSnapshot,
  encodeSnapshot,
  listSnapshots,
  parseKey,
  resumeKey,
  storeSnapshot,
  warmKey,
  type SnapshotConfig,
  type SnapshotStore,
} from './index.ts';

const host: SnapshotConfig = {
  kind: 'host',
  memoryMb: 128,
  v86: '0.5.462+g5f9a90f',
  artifacts: { seabios: 'aa'.repeat(32), vgabios: 'bb'.repeat(32), hostKernel: 'cc'.repeat(32), hostInitrd: 'dd'.repeat(32) },
  cmdline: 'console=ttyS0 init_on_free=1',
  devices: ['virtio-console'],
};

/** A state-like buffer: mostly zero pages with some varied bytes, like v86's packed memory. */
/** Byte equality without vitest's element-by-element diffing (slow on MiB-sized arrays). */
const same = (a: Uint8Array | undefined, b: Uint8Array) => !!a && a.length === b.length && a.every((v, i) => v === b[i]);

function fakeState(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i += 7) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

describe('configuration check', () => {
  it('accepts the same configuration, artifact order aside', () => {
    const same = { ...host, artifacts: Object.fromEntries(Object.entries(host.artifacts).reverse()) };
    expect(configMismatch(host, same)).toEqual([]);
    expect(() => assertConfigMatches(host, same)).not.toThrow();
  });

  it('names each difference: memory, v86 build, an artifact, the command line, the kind', () => {
    const other: SnapshotConfig = { ...host, memoryMb: 64, v86: '0.5.999', artifacts: { ...host.artifacts, hostInitrd: 'ee'.repeat(32) }, cmdline: 'x' };
    const r = configMismatch(host, other);
    expect(r).toHaveLength(4);
    expect(r[0]).toMatch(/128 MiB of memory, this machine has 64 MiB/);
    expect(r[1]).toMatch(/v86 0\.5\.462\+g5f9a90f, this page runs v86 0\.5\.999/);
    expect(r.join('\n')).toMatch(/hostInitrd changed since the snapshot \(sha256 dddddddddddd… then, eeeeeeeeeeee… now\)/);
    expect(r.join('\n')).toMatch(/command line changed/);
    expect(configMismatch(host, { ...host, kind: 'vm' })[0]).toMatch(/snapshot is of a container host, this machine is a virtual machine/);
  });

  it('refuses with one clear sentence and keeps the full list', () => {
    let err: unknown;
    try {
      assertConfigMatches(host, { ...host, memoryMb: 256, artifacts: { ...host.artifacts, hostKernel: '00'.repeat(32) } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SnapshotMismatchError);
    expect((err as SnapshotMismatchError).reasons).toHaveLength(2);
    expect((err as Error).message).toMatch(
      /^This snapshot does not fit this machine: the snapshot was taken with 128 MiB.*\(and 1 more difference\)\. Boot it fresh instead\.$/,
    );
  });
});

describe('snapshot file', () => {
  it('round-trips the state, compressed, with a readable header', async () => {
    const state = fakeState(256 * 1024);
    const { bytes, header } = await encodeSnapshot({
      config: host,
      machineId: 'host',
      state,
      extra: { containers: [{ channel: 1, name: 'c1', image: 'busybox', guestCredit: 65536 }] },
    });
    expect(header.rawBytes).toBe(state.length);
    expect(header.storedBytes).toBeLessThan(state.length / 2);
    expect(bytes.length).toBeLessThan(header.storedBytes + 4096);
    expect(decodeHeader(bytes.subarray(0, 4096)).header.config).toEqual(host);
    const back = await decodeSnapshot(bytes);
    expect(same(back.state, state)).toBe(true);
    expect(back.header.extra.containers?.[0].name).toBe('c1');
  });

  it('deflate-raw works too', async () => {
    const state = fakeState(200_000, 7);
    const { bytes } = await encodeSnapshot({ config: host, machineId: 'host', state, codec: 'deflate-raw' });
    expect(same((await decodeSnapshot(bytes)).state, state)).toBe(true);
  });

  it('rejects a truncated file, an altered body and a foreign file', async () => {
    const { bytes } = await encodeSnapshot({ config: host, machineId: 'host', state: fakeState(300_000) });
    await expect(decodeSnapshot(bytes.subarray(0, bytes.length - 10))).rejects.toThrow(/truncated/);
    const altered = bytes.slice();
    altered[altered.length - 20] ^= 0x55; // inside the deflate stream or gzip's CRC/length trailer
    await expect(decodeSnapshot(altered)).rejects.toBeInstanceOf(SnapshotFormatError);
    await expect(decodeSnapshot(new TextEncoder().encode('<!doctype html><html>not found</html>'))).rejects.toThrow(/bad magic/);
    expect(() => decodeHeader(bytes.subarray(0, 20))).toThrow(/does not fit/);
  });
});

describe('storage keys', () => {
  it('resume keys per machine id, refusing ids that cannot be file names', () => {
    expect(resumeKey('vm1')).toBe('resume.vm1.snap');
    expect(parseKey('resume.vm1.snap')).toEqual({ purpose: 'resume', id: 'vm1' });
    expect(() => resumeKey('../x')).toThrow(/cannot name a snapshot/);
  });

  it('warm keys carry a configuration hash: a changed image gives another key', async () => {
    const a = await warmKey(host);
    expect(a).toMatch(/^warm\.host\.[0-9a-f]{16}\.snap$/);
    expect(await warmKey({ ...host, artifacts: { ...host.artifacts } })).toBe(a);
    expect(await warmKey({ ...host, cmdline: 'other' })).not.toBe(a);
    expect(parseKey(a)).toMatchObject({ purpose: 'warm', id: 'host' });
    expect(parseKey('something-else')).toBeUndefined();
  });
});

describe('a full quota', () => {
  it('gives a clear message and loses nothing already saved', async () => {
    const first = await encodeSnapshot({ config: host, machineId: 'host', state: fakeState(400_000, 3) });
    const store = new MemoryStore(first.bytes.length + 1000);
    await storeSnapshot(store, 'resume.host.snap', first.bytes);
    const bigger = await encodeSnapshot({ config: host, machineId: 'host', state: fakeState(800_000, 4) });
    expect(bigger.bytes.length).toBeGreaterThan(first.bytes.length + 1000);
    // Replacing it and saving under another key both fail…
    await expect(storeSnapshot(store, 'resume.host.snap', bigger.bytes)).rejects.toThrow(StorageFullError);
    await expect(storeSnapshot(store, 'resume.vm1.snap', bigger.bytes)).rejects.toThrow(
      /Browser storage is full: this snapshot needs 0\.\d MiB\. Nothing already saved was lost/,
    );
    // …and the first snapshot is still there, whole.
    const kept = await store.get('resume.host.snap');
    expect(same(kept, first.bytes)).toBe(true);
    expect(same((await decodeSnapshot(kept!)).state, fakeState(400_000, 3))).toBe(true);
    expect((await store.list()).map((e) => e.key)).toEqual(['resume.host.snap']);
  });

  it('a backend failing mid-write (any quota error spelling) is reported the same way', async () => {
    const inner = new MemoryStore();
    const failing: SnapshotStore = {
      ...inner,
      backend: 'memory',
      put: async () => {
        throw Object.assign(new Error('The quota has been exceeded.'), { name: 'QuotaExceededError', code: 22 });
      },
      get: (k) => inner.get(k),
      head: (k, n) => inner.head(k, n),
      list: () => inner.list(),
      delete: (k) => inner.delete(k),
    };
    await expect(storeSnapshot(failing, 'resume.vm1.snap', new Uint8Array(10))).rejects.toBeInstanceOf(StorageFullError);
    await expect(storeSnapshot({ ...failing, put: async () => Promise.reject(new Error('disk on fire')) }, 'k', new Uint8Array(1))).rejects.toThrow(
      'disk on fire',
    );
  });

  it('an unrecognised write failure with too little headroom is a full quota too (Chromium OPFS: "data pipe")', async () => {
    const inner = new MemoryStore();
    let headroom = 1_000_000;
    const pipe: SnapshotStore = {
      ...inner,
      backend: 'memory',
      put: async () => {
        headroom = 100; // the write used up what was left, then the browser cut the stream
        throw new Error('Failed to write data to data pipe');
      },
      get: (k) => inner.get(k),
      head: (k, n) => inner.head(k, n),
      list: () => inner.list(),
      delete: (k) => inner.delete(k),
    };
    await expect(storeSnapshot(pipe, 'k', new Uint8Array(5000), async () => headroom)).rejects.toBeInstanceOf(StorageFullError);
    // With room to spare the same failure is not blamed on the quota.
    headroom = 1_000_000;
    const roomy = { ...pipe, put: async () => Promise.reject(new Error('Failed to write data to data pipe')) };
    await expect(storeSnapshot(roomy, 'k', new Uint8Array(5000), async () => headroom)).rejects.toThrow('data pipe');
    // Known too big before writing: refused without touching the store.
    let writes = 0;
    const counting = { ...pipe, put: async () => void writes++ };
    await expect(storeSnapshot(counting, 'k', new Uint8Array(5000), async () => 4999)).rejects.toThrow(/Browser storage is full/);
    expect(writes).toBe(0);
    // A headroom that cannot be read changes nothing.
    await storeSnapshot(counting, 'k', new Uint8Array(5000), async () => Promise.reject(new Error('no estimate')));
    expect(writes).toBe(1);
  });

  it('lists snapshots newest first with their headers, and names a damaged file', async () => {
    const store = new MemoryStore();
    const a = await encodeSnapshot({ config: host, machineId: 'host', state: fakeState(1000), createdAt: 1000 });
    const b = await encodeSnapshot({ config: { ...host, kind: 'vm' }, machineId: 'vm1', state: fakeState(1000), createdAt: 2000 });
    await store.put('resume.host.snap', a.bytes);
    await store.put('resume.vm1.snap', b.bytes);
    await store.put('resume.vm2.snap', new Uint8Array([1, 2, 3]));
    const list = await listSnapshots(store);
    expect(list.map((s) => s.key)).toEqual(['resume.vm1.snap', 'resume.host.snap', 'resume.vm2.snap']);
    expect(list[2].problem).toMatch(/not a snapshot/);
  });
});

describe('mux resync after a restore', () => {
  it('adopted channels are not handed out again, and boxd gets its credit topped up', async () => {
    const { MuxHost, MuxDecoder, FrameType, MUX_INITIAL_CREDIT } = await import('../mux/index.ts');
    const { adoptChannels } = await import('./mux-resume.ts');
    const sent: { type: number; channel: number; payload: Uint8Array }[] = [];
    const decoder = new MuxDecoder({ frame: (f) => sent.push(f), error: () => {} });
    const host = new MuxHost({ write: (b) => decoder.feed(b), canWrite: () => true }, { helloIntervalMs: 0 });
    adoptChannels(host, [
      { channel: 2, guestCredit: MUX_INITIAL_CREDIT - 1000 },
      { channel: 5, guestCredit: MUX_INITIAL_CREDIT },
    ]);
    const fresh = [host.allocChannel(), host.allocChannel(), host.allocChannel()];
    expect(fresh).toEqual([6, 7, 8]);
    await new Promise((r) => setTimeout(r, 0));
    const credits = sent.filter((f) => f.type === FrameType.CREDIT);
    expect(credits).toHaveLength(1); // channel 5 had all its credit
    expect(credits[0].channel).toBe(2);
    expect(new DataView(credits[0].payload.buffer, credits[0].payload.byteOffset).getUint32(0, true)).toBe(1000);
    host.close();
  });
});
