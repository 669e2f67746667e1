// Machines as the headless race runs them: the page's own machine worker in a worker thread.
//  - A power-off that arrives while the power-on is still downloading and building the emulator
//    wins, and the machine stays off until the next power-on, which boots normally. (The compare
//    page's Stop used to be overtaken by a late boot.)
//  - A thread that dies mid-boot fails only its own machine, with a message saying so.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { distUrls } from '../../src/node/dist.ts';
import { HeadlessMachine } from '../../src/node/machine.ts';
import type { MachineUrls } from '../../src/core/machine/index.ts';
import { DIST } from './harness.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let wasm: WebAssembly.Module | undefined;
async function vmNamed(id: string, urls: MachineUrls = distUrls(DIST), memoryMb?: number): Promise<HeadlessMachine> {
  wasm ??= await WebAssembly.compile(readFileSync(new URL(urls.wasm)));
  return new HeadlessMachine({ id, name: id.toUpperCase(), kind: 'vm' }, urls, wasm, { memoryMb });
}

describe('machines in worker threads', () => {
  it('a VM powered off during its power-on stays off, then boots on the next power-on', async () => {
    const vm = await vmNamed('vm1');
    try {
      await vm.spawn();
      // Sent back to back: the worker takes the power-off while the power-on awaits its downloads.
      const on = vm.powerOn();
      const off = vm.powerOff();
      await Promise.all([on, off]);
      // Long enough for an un-cancelled power-on to build its emulator and get well into the BIOS.
      await sleep(3000);
      expect(vm.state).toBe('stopped');
      expect(vm.marks, 'no power-on was announced').toEqual([]);
      expect(vm.console.all).toBe('');

      await vm.powerOn();
      const login = await vm.finished.promise;
      expect(login.phase).toBe('login');
      await expect.poll(() => vm.state, { timeout: 5000 }).toBe('finished'); // the state event follows the finish
    } finally {
      await vm.dispose();
    }
  }, 90_000);

  it('a thread killed mid-boot fails its machine only; the other VM reaches login:', async () => {
    const [doomed, other] = [await vmNamed('vm1'), await vmNamed('vm2')];
    try {
      await Promise.all([doomed.spawn(), other.spawn()]);
      await Promise.all([doomed.powerOn(), other.powerOn()]);
      await expect.poll(() => doomed.marks.length, { timeout: 20_000 }).toBeGreaterThan(0); // booting
      doomed.killThread();
      await expect(doomed.finished.promise).rejects.toThrow(/worker exited/);
      expect(doomed.state).toBe('crashed');
      expect(doomed.result()).toMatchObject({ status: 'error', message: expect.stringMatching(/worker exited/) });
      expect((await other.finished.promise).phase).toBe('login');
      expect(other.result().status).toBe('finished');
    } finally {
      await Promise.all([doomed.dispose(), other.dispose()]);
    }
  }, 120_000);

  it("the driver's saved state is checked like a stored snapshot: another configuration is refused, its own resumes", async () => {
    const [source, other, copy] = [await vmNamed('vm1'), await vmNamed('vm2', distUrls(DIST), 32), await vmNamed('vm3')];
    try {
      await source.powerOn();
      await source.finished.promise;
      const saved = await source.control!.saveState();
      expect(saved.rawBytes).toBeGreaterThan(1 << 20);
      await other.prepare();
      await other.control!.restoreOnPowerOn(saved.file);
      await other.powerOn();
      await expect.poll(() => other.error?.message, { timeout: 20_000 }).toMatch(/could not resume the snapshot: .*memory/i);
      expect(other.marks, 'nothing was restored').toEqual([]);
      await copy.prepare();
      await copy.control!.restoreOnPowerOn(saved.file);
      await copy.powerOn();
      expect((await copy.finished.promise).phase).toBe('login');
      // Saved at its login prompt: the resumed guest answers there.
      const reply = await copy.control!.expect(0, '\n', 'login:', 20_000);
      expect(reply.printed).toContain('login:');
    } finally {
      await Promise.all([source.dispose(), other.dispose(), copy.dispose()]);
    }
  }, 120_000);
});
