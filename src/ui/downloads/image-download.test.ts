import { describe, it, expect } from 'vitest';
import { tinyTar } from '../../../tests/unit/fixtures/tiny-tar.ts';
import { imageArchiveName, saveImageArchive, IMAGE_SAVE_TIMEOUT_MS, type ImageArchiveSource } from './image-download.ts';

function source(
  reply: { code: number; bytes: Uint8Array; stderr: string } | Error,
  progress: number[] = [],
): ImageArchiveSource & { argv?: string[]; timeoutMs?: number } {
  return {
    async boxCmdBytes(argv, timeoutMs, onProgress) {
      this.argv = argv;
      this.timeoutMs = timeoutMs;
      for (const n of progress) onProgress?.(n);
      if (reply instanceof Error) throw reply;
      return reply;
    },
  };
}

describe('saveImageArchive', () => {
  it('asks boxd to save the image and hands over its archive untouched, with progress', async () => {
    const tar = tinyTar();
    const s = source({ code: 0, bytes: tar, stderr: '' }, [512, 1536]);
    const seen: number[] = [];
    await expect(saveImageArchive(s, 'busybox', (n) => seen.push(n))).resolves.toBe(tar);
    expect(s.argv).toEqual(['save', 'busybox']);
    expect(s.timeoutMs).toBe(IMAGE_SAVE_TIMEOUT_MS);
    expect(seen).toEqual([512, 1536]);
  });

  it('says what boxd said when it refuses, and the mux error when the host does not answer', async () => {
    await expect(saveImageArchive(source({ code: 1, bytes: new Uint8Array(0), stderr: 'box save: no such image: nope\n' }), 'nope')).rejects.toThrow(
      /^box save: no such image: nope$/,
    );
    await expect(saveImageArchive(source({ code: 125, bytes: new Uint8Array(0), stderr: '' }), 'x')).rejects.toThrow('box save x failed with exit code 125');
    await expect(saveImageArchive(source(new Error('box save busybox: no reply in 120000 ms')), 'busybox')).rejects.toThrow('no reply in 120000 ms');
  });

  it('refuses an answer that is not a tar archive (text decoded on the way, cut short)', async () => {
    const cut = tinyTar().subarray(0, 1000);
    await expect(saveImageArchive(source({ code: 0, bytes: cut, stderr: '' }), 'busybox')).rejects.toThrow(
      'box save busybox answered with 1000 bytes that are not a tar archive',
    );
    const noMagic = new Uint8Array(1536);
    await expect(saveImageArchive(source({ code: 0, bytes: noMagic, stderr: '' }), 'busybox')).rejects.toThrow('not a tar archive');
  });

  it('names the file after the image', () => {
    expect(imageArchiveName('busybox')).toBe('stacklab-busybox.oci.tar');
    expect(imageArchiveName('web:latest')).toBe('stacklab-web_latest.oci.tar');
  });
});
