// A machine boots with v86's JIT off and turns it on at its last boot phase (src/core/machine/jit.ts):
// checked on the container host through v86 itself: its get_jit_config wasm export, and the modules
// it compiles (each goes through cpu.codegen_finalize, which we count).
import { describe, it, expect, afterAll } from 'vitest';
import { boot, type Machine } from './harness.ts';
import { MARKERS } from '../../src/core/markers.ts';

describe('boot JIT policy (container host)', () => {
  let m: Machine;
  let compiled = 0;
  const jitDisabled = () => m.emulator.v86.cpu.wm.exports.get_jit_config(0);
  afterAll(async () => m?.stop());

  it('boots interpreted: nothing compiled while the kernel starts', async () => {
    m = await boot('host');
    await m.started;
    const cpu = m.emulator.v86.cpu;
    const finalize = cpu.codegen_finalize.bind(cpu);
    cpu.codegen_finalize = (...args: unknown[]) => {
      compiled++;
      return finalize(...args);
    };
    await m.waitFor(MARKERS.init, 60_000, 'init');
    expect(jitDisabled(), 'JIT disabled').toBe(1);
    expect(compiled).toBe(0);
  });

  it('compiles again once the host is ready: a hot loop gets compiled', async () => {
    await m.waitFor(MARKERS.hostReady, 60_000, 'ready');
    expect(jitDisabled(), 'JIT enabled').toBe(0);
    const out = await m.run('i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done; echo looped $i', 60_000);
    expect(out).toMatch(/looped 3000/);
    expect(compiled).toBeGreaterThan(0);
  });
});
