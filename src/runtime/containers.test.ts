// The one container registry of a container host, against a scripted boxd (src/core/mux/fake-guest.ts):
// a container the experiments' driver starts is recorded like a card's (so a save keeps it), and a
// start is stamped once, the same for both.
import { describe, it, expect } from 'vitest';
import { FakeGuest } from '../core/mux/fake-guest.ts';
import { FrameType } from '../core/mux/frames.ts';
import * as P from '../core/mux/payloads.ts';
import type { ContainerUpdate } from '../core/machine/index.ts';
import { ContainerHost } from './containers.ts';

/** boxd's answer to every RUN: STARTED, FIRST_OUTPUT, a prompt; an image called "nope" is refused. */
function scriptedHost() {
  const g = new FakeGuest();
  g.posted = 1e6;
  const phases = P.START_PHASES.map((name, i) => ({ name, ns: 1000n + BigInt(i) * 1_000_000n }));
  g.answer = (f) => {
    if (f.type !== FrameType.RUN) return;
    if (P.decodeArgv(f.payload).includes('nope')) return g.say(FrameType.ERROR, f.channel, P.encodeError({ code: 2, message: 'no such image: nope' }));
    g.say(FrameType.STARTED, f.channel, P.encodeStarted({ pid: 40 + f.channel, phases }));
    g.say(FrameType.FIRST_OUTPUT, f.channel, P.encodeU64(1000n + 7_000_000n));
    g.say(FrameType.OUTPUT, f.channel, new TextEncoder().encode('/ # '));
  };
  const updates: ContainerUpdate[] = [];
  const texts: string[] = [];
  let instructions = 0;
  const box = new ContainerHost(
    { host: g.host, close: () => g.host.close() },
    {
      output: () => {},
      text: (_channel, text) => texts.push(text),
      ready: () => {},
      update: (u) => updates.push(u),
      stamp: () => ({ wallMs: 0, instructions: (instructions += 1000) }),
    },
  );
  return { g, box, updates, texts };
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 1));
  if (!cond()) throw new Error('timed out');
};

describe('ContainerHost', () => {
  it('records a container the driver started as well as a card’s, so a save keeps both', async () => {
    const { box, updates } = scriptedHost();
    const card = box.start({ name: 'web-1', image: 'web' });
    const run = await box.run({ name: 'x-c1', image: 'busybox', flags: ['--memory', '32m'] }, 5000);
    await until(() => updates.some((u) => u.channel === card && u.state === 'running'));
    expect(box.liveContainers().map(({ channel, name, image }) => ({ channel, name, image }))).toEqual([
      { channel: card, name: 'web-1', image: 'web' },
      { channel: run.channel, name: 'x-c1', image: 'busybox' },
    ]);
    box.close();
  });

  it('stamps a start once: the card’s update and the driver’s ContainerRun carry the same phases', async () => {
    const { box, updates, texts } = scriptedHost();
    const run = await box.run({ name: 'x-c1', image: 'busybox' }, 5000);
    expect(run.pid).toBe(40 + run.channel);
    expect(run.phases.map((p) => p.ms)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(run.firstOutputMs).toBe(7);
    expect(run.instructions).toBeGreaterThan(0);
    const running = updates.find((u) => u.channel === run.channel && u.state === 'running')!;
    expect(running.marks?.at(-1)).toBeDefined();
    expect(running.instructions).toBe(run.instructions);
    expect(texts.join('')).toBe('/ # ');
    expect(box.consoleText(run.channel)).toBe('/ # ');
    box.close();
  });

  it('forgets a container boxd refused: it is no container of the host and a save does not keep it', async () => {
    const { box, updates } = scriptedHost();
    await expect(box.run({ name: 'bad', image: 'nope' }, 5000)).rejects.toThrow('no such image: nope');
    const card = box.start({ name: 'bad-card', image: 'nope' });
    await until(() => updates.some((u) => u.channel === card && u.state === 'error'));
    expect(box.liveContainers()).toEqual([]);
    box.close();
  });
});
