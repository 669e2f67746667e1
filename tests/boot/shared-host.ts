// One booted container host for every test of a file (vitest hooks, so apart from harness.ts, which
// the benches import outside vitest).
import { beforeAll, afterAll } from 'vitest';
import { hostWithMux, type Machine, type MuxPort } from './harness.ts';

/**
 * Registers hooks that boot a container host with the page's mux before the file's first test and
 * stop it after its last; the returned object holds them (`m`, `mux`) from the first test on.
 */
export function sharedHostWithMux(): { m: Machine; mux: MuxPort } {
  const host = {} as { m: Machine; mux: MuxPort };
  beforeAll(async () => {
    Object.assign(host, await hostWithMux());
  }, 120_000);
  afterAll(async () => {
    host.mux?.close();
    await host.m?.stop();
  });
  return host;
}
