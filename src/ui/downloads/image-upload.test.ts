import { describe, it, expect } from 'vitest';
import { tinyTar } from '../../../tests/unit/fixtures/tiny-tar.ts';
import { IMAGE_LOAD_MAX_BYTES, IMAGE_LOAD_STALL_MS, loadImageArchive, type ImageArchiveTarget } from './image-upload.ts';

function target(
  reply: { code: number; text: string } | Error,
  progress: number[] = [],
): ImageArchiveTarget & { calls: { name: string; bytes: number; stallMs: number }[] } {
  return {
    calls: [],
    async boxLoad(archive, name, stallMs, onProgress) {
      this.calls.push({ name, bytes: archive.length, stallMs });
      for (const n of progress) onProgress?.(n, archive.length);
      if (reply instanceof Error) throw reply;
      return reply;
    },
  };
}

describe('loadImageArchive', () => {
  it('streams the file to boxd and gives box load’s lines, with progress', async () => {
    const t = target({ code: 0, text: 'Loaded image: busybox:latest\n' }, [512, 1536]);
    const seen: number[] = [];
    await expect(loadImageArchive(t, 'stacklab-busybox.oci.tar', tinyTar(), (n, total) => seen.push(n, total))).resolves.toBe('Loaded image: busybox:latest');
    expect(t.calls).toEqual([{ name: 'stacklab-busybox.oci.tar', bytes: 1536, stallMs: IMAGE_LOAD_STALL_MS }]);
    expect(seen).toEqual([512, 1536, 1536, 1536]);
  });

  it('a bad archive: box load’s own line; a failed stream: boxd’s', async () => {
    const line = 'box load: x.tar: archive truncated at byte 1024: nothing was loaded';
    await expect(loadImageArchive(target({ code: 1, text: `${line}\n` }), 'x.tar', tinyTar())).rejects.toThrow(new RegExp(`^${line}$`));
    await expect(loadImageArchive(target({ code: 1, text: '' }), 'x.tar', tinyTar())).rejects.toThrow(/^box load x.tar failed with exit code 1$/);
    await expect(
      loadImageArchive(target(new Error('box load: x.tar: aborted by the host after 0 of 1536 bytes: nothing was loaded')), 'x.tar', tinyTar()),
    ).rejects.toThrow(/aborted/);
  });

  it('refuses a file that is no tar, or too large, before sending anything', async () => {
    const t = target({ code: 0, text: '' });
    await expect(loadImageArchive(t, 'notes.txt', new TextEncoder().encode('hello'.repeat(200)))).rejects.toThrow(
      /^notes.txt is not a tar archive \(an OCI archive is one/,
    );
    const huge = new Uint8Array(IMAGE_LOAD_MAX_BYTES + 1);
    huge.set(tinyTar());
    await expect(loadImageArchive(t, 'huge.tar', huge)).rejects.toThrow(/^huge.tar is 64.0 MiB: the container host takes archives of at most 64.0 MiB$/);
    expect(t.calls).toEqual([]);
  });
});
