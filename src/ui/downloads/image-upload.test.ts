import { describe, it, expect } from 'vitest';
import { tinyTar } from '../../../tests/unit/fixtures/tiny-tar.ts';
import { IMAGE_LOAD_MAX_BYTES, IMAGE_LOAD_STALL_MS, loadImageArchive, startImageLoad, type ImageArchiveTarget } from './image-upload.ts';
import { FakeGuest } from '../../core/mux/fake-guest.ts';
import { FrameType } from '../../core/mux/frames.ts';
import type { LoadHandle } from '../../core/mux/host.ts';
import * as P from '../../core/mux/payloads.ts';

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
    async abortBoxLoad() {
      return false;
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

/**
 * A host whose boxd is the mux's scripted guest: it takes the first LOAD_DATA frames and then
 * nothing more (a load in flight), answers LOAD_ABORT with boxd's ERROR line, and RUN with STARTED.
 * Loads are kept by id as the machine worker keeps them (src/runtime/machine-runtime.ts boxLoad).
 */
function muxHost() {
  const g = new FakeGuest();
  g.posted = 1e9;
  const loads = new Map<string, LoadHandle>();
  let size = 0;
  let taken = 0;
  g.answer = (f) => {
    if (f.type === FrameType.LOAD) size = P.decodeLoad(f.payload).size;
    else if (f.type === FrameType.LOAD_DATA && taken === 0) {
      taken = P.decodeLoadData(f.payload).bytes.length;
      g.say(FrameType.LOAD_ACK, f.channel, P.encodeLoadAck(taken));
    } else if (f.type === FrameType.LOAD_ABORT) {
      const message = `box load: big.tar: aborted by the host after ${taken} of ${size} bytes: nothing was loaded`;
      g.say(FrameType.ERROR, f.channel, P.encodeError({ code: 125, message }));
    } else if (f.type === FrameType.RUN) g.say(FrameType.STARTED, f.channel, P.encodeStarted({ pid: 42, phases: [] }));
  };
  const target: ImageArchiveTarget = {
    async boxLoad(archive, name, stallMs, onProgress, loadId) {
      const load = g.host.load(archive, { name, stallMs, onProgress });
      if (loadId) loads.set(loadId, load);
      try {
        return await load.done;
      } finally {
        if (loadId) loads.delete(loadId);
      }
    },
    async abortBoxLoad(loadId) {
      loads.get(loadId)?.abort();
      return loads.has(loadId);
    },
  };
  return { g, target };
}

describe('startImageLoad', () => {
  it('Cancel aborts the load in flight: boxd’s one line, nothing loaded, and the mux keeps serving', async () => {
    const { g, target } = muxHost();
    const big = new Uint8Array(2 * 1024 * 1024);
    big.set(tinyTar());
    const seen: number[] = [];
    const load = startImageLoad(target, 'big.tar', big, (taken) => seen.push(taken));
    await expect.poll(() => seen.length).toBeGreaterThan(0);
    await load.cancel();
    await expect(load.done).rejects.toThrow(/^Cancelled: box load: big.tar: aborted by the host after 65528 of 2097152 bytes: nothing was loaded$/);
    expect(g.of(FrameType.LOAD_ABORT)).toHaveLength(1);
    expect(g.of(FrameType.LOAD_ABORT)[0]!.channel).toBe(g.of(FrameType.LOAD)[0]!.channel);
    // The host still serves: a container starts.
    await expect(g.host.run(['run', 'busybox']).started).resolves.toMatchObject({ pid: 42 });
    g.host.close();
  });

  it('a cancel after the answer changes nothing; each load has its own id', async () => {
    const ids: (string | undefined)[] = [];
    const aborted: string[] = [];
    const t: ImageArchiveTarget = {
      async boxLoad(_a, _n, _s, _p, loadId) {
        ids.push(loadId);
        return { code: 0, text: 'Loaded image: app:v1\n' };
      },
      async abortBoxLoad(loadId) {
        aborted.push(loadId);
        return false;
      },
    };
    const first = startImageLoad(t, 'a.tar', tinyTar());
    await expect(first.done).resolves.toBe('Loaded image: app:v1');
    await first.cancel();
    await expect(first.done).resolves.toBe('Loaded image: app:v1');
    await expect(startImageLoad(t, 'b.tar', tinyTar()).done).resolves.toBe('Loaded image: app:v1');
    expect(new Set(ids).size).toBe(2);
    expect(aborted).toEqual([ids[0]]);
  });

  it('a cancel after boxd took every byte: box load’s own failure is not labelled “Cancelled”, and its slow answer is not an unconfirmed abort', async () => {
    // boxd takes every byte, ignores LOAD_ABORT (PROTOCOL.md), and box load answers when the test says.
    const g = new FakeGuest();
    g.posted = 1e9;
    let got = 0;
    g.answer = (f) => {
      if (f.type !== FrameType.LOAD_DATA) return;
      got += P.decodeLoadData(f.payload).bytes.length;
      g.say(FrameType.LOAD_ACK, f.channel, P.encodeLoadAck(got));
    };
    const loads = new Map<string, LoadHandle>();
    const t = (stallMs: number): ImageArchiveTarget => ({
      async boxLoad(archive, name, _s, onProgress, loadId) {
        const load = g.host.load(archive, { name, stallMs, onProgress });
        loads.set(loadId!, load);
        return load.done;
      },
      async abortBoxLoad(loadId) {
        loads.get(loadId)?.abort();
        return true;
      },
    });
    const line = 'box load: bad.tar: blob sha256:0123 does not match its digest: nothing was loaded';
    let seen = 0;
    const bad = startImageLoad(t(5000), 'bad.tar', tinyTar(), (n) => (seen = n));
    await expect.poll(() => seen).toBe(1536);
    await bad.cancel();
    g.say(FrameType.RESULT, g.of(FrameType.LOAD).at(-1)!.channel, P.encodeResult({ code: 1, text: `${line}\n` }));
    await expect(bad.done).rejects.toThrow(new RegExp(`^${line}$`));

    seen = got = 0;
    const slow = startImageLoad(t(30), 'slow.tar', tinyTar(), (n) => (seen = n));
    await expect.poll(() => seen).toBe(1536);
    await slow.cancel();
    await expect(slow.done).rejects.toThrow(/^box load slow.tar: boxd took all 1536 bytes but gave no answer for 30 ms \(the load may still complete\)$/);
    g.host.close();
  });
});
