import { describe, it, expect } from 'vitest';
import { readWholeDisk, DISK_SLICE_BYTES, type DiskSource } from './disk-download.ts';

/** A disk of `size` bytes where byte i is i mod 251, optionally failing at one offset. */
function fakeDisk(size: number, failAt?: number): DiskSource & { calls: number } {
  return {
    calls: 0,
    async diskStats() {
      return { size };
    },
    async readDisk(start, length) {
      this.calls++;
      if (failAt !== undefined && start <= failAt && failAt < start + length) throw new Error(`chunk at ${failAt} could not be fetched`);
      return Uint8Array.from({ length }, (_, k) => (start + k) % 251);
    },
  };
}

describe('readWholeDisk', () => {
  it('reads every byte in order, in slices, reporting progress up to the size', async () => {
    const size = 2 * DISK_SLICE_BYTES + 12345;
    const disk = fakeDisk(size);
    const seen: number[] = [];
    const bytes = await readWholeDisk(disk, (done, total) => {
      expect(total).toBe(size);
      seen.push(done);
    });
    expect(bytes.byteLength).toBe(size);
    for (const i of [0, 1, DISK_SLICE_BYTES - 1, DISK_SLICE_BYTES, size - 1]) expect(bytes[i]).toBe(i % 251);
    expect(disk.calls).toBe(3);
    expect(seen).toEqual([DISK_SLICE_BYTES, 2 * DISK_SLICE_BYTES, size]);
  });

  it('a slice that cannot be read fails the whole download with its reason', async () => {
    await expect(readWholeDisk(fakeDisk(3 * DISK_SLICE_BYTES, DISK_SLICE_BYTES + 5))).rejects.toThrow(/could not be fetched/);
  });

  it('a machine without a disk says so', async () => {
    await expect(readWholeDisk({ diskStats: async () => undefined, readDisk: async () => new Uint8Array() })).rejects.toThrow(/no disk/);
  });

  it('a short slice is an error, not a hole in the file', async () => {
    const short: DiskSource = { diskStats: async () => ({ size: 10 }), readDisk: async () => new Uint8Array(4) };
    await expect(readWholeDisk(short)).rejects.toThrow(/returned 4 bytes/);
  });
});
