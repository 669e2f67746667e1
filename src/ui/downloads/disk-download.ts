/**
 * "Download disk": the VM's whole disk as it is now (the image the page fetched, with every block
 * the guest wrote on top), read from its worker in slices and handed to the browser as a file. It
 * is a plain MBR PC disk: `qemu-system-i386 -hda stacklab-vm1.img` boots it (tests/e2e/take-it-elsewhere.spec.ts).
 * What the guest still holds in its page cache is not on the disk yet: `sync` in the VM first.
 */

/** The part of a machine's control API this needs (src/core/machine/api.ts MachineDriverApi). */
export interface DiskSource {
  diskStats(): Promise<{ size: number } | undefined>;
  /** Bytes [start, start + length) of the disk with the guest's writes on top. */
  readDisk(start: number, length: number): Promise<Uint8Array>;
}

/** Slice per worker call: 1 MiB keeps each message small and the progress bar moving. */
export const DISK_SLICE_BYTES = 1 << 20;

/**
 * Every byte of the disk, in order. `onProgress(done, total)` in bytes after each slice.
 * Throws when the machine has no disk, or with the worker's error when a slice cannot be read
 * (for example its chunk could not be fetched): nothing partial is returned.
 */
export async function readWholeDisk(source: DiskSource, onProgress?: (done: number, total: number) => void, signal?: AbortSignal): Promise<Uint8Array> {
  const stats = await source.diskStats();
  if (!stats) throw new Error('this machine has no disk');
  const out = new Uint8Array(stats.size);
  for (let at = 0; at < stats.size; at += DISK_SLICE_BYTES) {
    if (signal?.aborted) throw new Error('download cancelled');
    const length = Math.min(DISK_SLICE_BYTES, stats.size - at);
    const part = await source.readDisk(at, length);
    if (part.byteLength !== length) throw new Error(`the disk returned ${part.byteLength} bytes at ${at}, expected ${length}`);
    out.set(part, at);
    onProgress?.(at + length, stats.size);
  }
  return out;
}

/** Hand bytes to the browser as a file download named `name`. */
export function saveFile(bytes: Uint8Array<ArrayBuffer>, name: string, type = 'application/octet-stream'): void {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  // The download has started from the click; free the blob once the browser has taken it.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
