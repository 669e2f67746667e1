// Power buttons against a machine that is still starting, through the page's own machine worker
// (in a worker thread, as the headless race runs it): a power-off that arrives while the power-on
// is still downloading and building the emulator wins, and the machine stays off until the next
// power-on, which boots normally. (The compare page's Stop used to be overtaken by a late boot.)
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { distUrls } from '../../src/node/race.ts';
import { HeadlessMachine } from '../../src/node/machine.ts';
import { DIST } from './harness.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('power-off while starting', () => {
  it('a VM powered off during its power-on stays off, then boots on the next power-on', async () => {
    const urls = distUrls(DIST);
    const wasm = await WebAssembly.compile(readFileSync(new URL(urls.wasm)));
    const vm = new HeadlessMachine({ id: 'vm1', name: 'VM 1', kind: 'vm' }, urls, wasm);
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
});
