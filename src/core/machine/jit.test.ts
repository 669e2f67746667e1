import { describe, it, expect } from 'vitest';
import { BOOT_JIT_OPTIONS, setJit } from './jit.ts';
import { v86Options } from './profiles.ts';

/** A stand-in for V86 with the one wasm export setJit reaches, recording its calls. */
function fakeEmulator() {
  const calls: [number, number][] = [];
  return { calls, v86: { cpu: { set_jit_config: (index: number, value: number) => void calls.push([index, value]) } } };
}

describe('boot JIT policy', () => {
  it('turns v86 JIT_DISABLED (config index 0) off for on, on for off', () => {
    const emu = fakeEmulator();
    expect(setJit(emu, true)).toBe(true);
    expect(setJit(emu, false)).toBe(true);
    expect(emu.calls).toEqual([
      [0, 0],
      [0, 1],
    ]);
  });

  it('says so when the emulator has no switch (not loaded yet, another v86)', () => {
    expect(setJit({}, true)).toBe(false);
    expect(setJit({ v86: { cpu: {} } }, true)).toBe(false);
  });

  it('every machine is built to boot interpreted', () => {
    const media = { wasmUrl: 'v86.wasm', bios: new ArrayBuffer(8), kernel: new ArrayBuffer(8), initrd: new ArrayBuffer(8) };
    const disk = { get() {}, set() {}, load() {}, byteLength: 512 };
    expect(v86Options({ kind: 'host' }, media)).toMatchObject(BOOT_JIT_OPTIONS);
    expect(v86Options({ kind: 'vm' }, { ...media, disk })).toMatchObject(BOOT_JIT_OPTIONS);
  });
});
