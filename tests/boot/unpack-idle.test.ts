// A layer boxd unpacks while idle never holds back a start (issue 10): on a fresh container host
// boxd unpacks the lua image's own layer (not pre-pulled, ~250 M guest instructions) ahead of time.
// A busybox start requested while that unpack runs must reach its prompt at its own cost, long
// before the unpack is done; a lua start, which needs that very layer, waits for it while every
// other terminal keeps working, then runs on the complete layer. Measured in guest instructions
// and the guest's own clock (boxd's log, the FIRST_OUTPUT frame), not in host wall time.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { args, DIST, hostHasContainerImages, hostWithMux, Machine, MuxPort, shStatus, Terminal, text } from './harness.ts';
import { FrameType as T, type Frame } from '../../src/core/mux/frames.ts';

/** The last layer of an image in the committed OCI layout: its hex digest. */
function topLayer(image: string): string {
  const oci = join(DIST, 'oci');
  const index = JSON.parse(readFileSync(join(oci, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === image);
  if (!entry) throw new Error(`no image ${image} in ${oci}`);
  const manifest = JSON.parse(readFileSync(join(oci, 'blobs/sha256', entry.digest.slice(7)), 'utf8')) as { layers: { digest: string }[] };
  return manifest.layers.at(-1)!.digest.slice(7);
}

const u64 = (f: Frame, at: number) => Number(new DataView(f.payload.buffer, f.payload.byteOffset).getBigUint64(at, true));

describe.skipIf(!hostHasContainerImages())('an idle layer unpack never holds back a start', () => {
  let m: Machine;
  let mux: MuxPort;
  /** Guest instructions when each batch of mux bytes arrived: [frames decoded by then, instructions]. */
  const stamps: [number, number][] = [];
  const instructionsAt = (f: Frame) => {
    const i = mux.frames.indexOf(f);
    return stamps.find(([n]) => n > i)![1];
  };

  beforeAll(async () => {
    ({ m, mux } = await hostWithMux());
    // Registered after the MuxPort's listener: the frames of a batch are decoded when this runs.
    m.emulator.add_listener('virtio-console1-output-bytes', () => stamps.push([mux.frames.length, m.instructions()]));
  }, 120_000);

  afterAll(async () => {
    mux?.close();
    await m?.stop();
  });

  it('a busybox prompt comes during the lua layer unpack; lua waits for it, nobody else does', async () => {
    const lua = topLayer('lua');
    const layers = '/var/lib/box/layers';
    // The idle unpack is under way: its temporary directory exists (the layer is renamed into place when done).
    const under = await shStatus(m, `until [ -d ${layers}/${lua}.tmp ]; do usleep 20000; done; [ ! -d ${layers}/${lua} ]`, 60_000);
    expect(under.code, 'the lua layer is being unpacked, not yet in place').toBe(0);

    const i0 = m.instructions();
    const from = mux.frames.length;
    mux.send(T.RUN, 2, args('-it', 'busybox', 'sh'));
    const bbFirst = await mux.waitFrame((f) => f.channel === 2 && (f.type === T.FIRST_OUTPUT || f.type === T.ERROR), 120_000, 'busybox prompt', from);
    expect(bbFirst.type).toBe(T.FIRST_OUTPUT);
    const busyboxMinstr = (instructionsAt(bbFirst) - i0) / 1e6;

    // lua needs the layer being unpacked: it waits, and the busybox terminal keeps answering meanwhile.
    const luaFrom = mux.frames.length;
    const i1 = m.instructions();
    mux.send(T.RUN, 1, args('-it', 'lua'));
    const bb = new Terminal(mux, 2);
    expect(await bb.run('echo still-$((6*7))')).toMatch(/^still-42$/m);
    const echoedBeforeLua = !mux.frames.slice(luaFrom).some((f) => f.channel === 1 && f.type === T.STARTED);
    const luaFirst = await mux.waitFrame((f) => f.channel === 1 && (f.type === T.FIRST_OUTPUT || f.type === T.ERROR), 180_000, 'lua prompt', luaFrom);
    expect(luaFirst.type, 'lua starts once its layer is there').toBe(T.FIRST_OUTPUT);
    const luaMinstr = (instructionsAt(luaFirst) - i1) / 1e6;
    mux.send(T.INPUT, 1, text.encode('print(6*7)\n'));
    await mux.waitFrame(() => /^42\r?$/m.test(mux.output.get(1) ?? ''), 30_000, 'lua computes', luaFrom);

    // boxd's log (guest CLOCK_MONOTONIC, ms) says when the layer was ready; FIRST_OUTPUT carries the prompt's time.
    const log = (await shStatus(m, 'cat /var/log/boxd.log')).out;
    const ready = new RegExp(`\\[\\s*(\\d+)\\.(\\d+)\\] layer ${lua.slice(0, 12)} ready`).exec(log);
    expect(ready, `boxd logged the layer ready:\n${log}`).not.toBeNull();
    const readyMs = Number(ready![1]) * 1000 + Number(ready![2]);
    const busyboxPromptMs = u64(bbFirst, 0) / 1e6;
    const luaPromptMs = u64(luaFirst, 0) / 1e6;
    console.log(
      `busybox prompt ${busyboxMinstr.toFixed(1)} M instructions after its request, at ${busyboxPromptMs.toFixed(0)} ms guest; ` +
        `lua layer ready at ${readyMs} ms guest; lua prompt ${luaMinstr.toFixed(1)} M instructions after its request, at ${luaPromptMs.toFixed(0)} ms`,
    );
    expect(busyboxPromptMs, 'the busybox prompt came while the layer was still being unpacked').toBeLessThan(readyMs);
    // A busybox start costs a few M instructions; the unpack it must not wait for, ~250 M.
    expect(busyboxMinstr).toBeLessThan(30);
    expect(echoedBeforeLua, 'the busybox terminal answered while lua waited for its layer').toBe(true);
    expect(luaPromptMs, 'lua started on the complete layer').toBeGreaterThan(readyMs);
  }, 300_000);
});
