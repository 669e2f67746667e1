/**
 * When v86 compiles guest code. v86 interprets x86 code and counts how often each 4 KiB page of it
 * runs; a page past its threshold is compiled into a WebAssembly module (v86's src/rust/jit.rs:
 * `jit_increase_hotness_and_maybe_compile`, `JIT_THRESHOLD`). A boot runs most of its code once or
 * a few times (initcalls, probes, one exec of each program), so compiling it costs more than it
 * saves: booting interpreted took about a third of the CPU time (bench/boot-trace.ts and
 * `npm run bench:boot`, host and VM alike). Long-running work after the boot (a build, a benchmark
 * in a guest) needs the compiler. So every machine boots with the JIT off and turns it on once
 * it is ready (the last boot phase, src/core/machine/phases.ts) or resumed from a snapshot.
 * The guest runs the same instructions either way: only how the emulator executes them differs.
 */

/** v86's `set_jit_config` index 0 is "JIT disabled" (src/rust/jit.rs `set_jit_config`). */
const JIT_DISABLED = 0;

/** The v86 internals this reaches (not in v86's typings): `V86.v86.cpu.set_jit_config`, exported by its wasm. */
interface JitSwitchable {
  v86?: { cpu?: { set_jit_config?: (index: number, value: number) => void } };
}

/** The v86 option a machine is built with: boots interpreted (v86's `disable_jit`). */
export const BOOT_JIT_OPTIONS = { disable_jit: true } as const;

/**
 * Turn v86's compiler on (`on`) or off for a V86 instance (built from v86Options). Compiled code
 * already made stays in use either way; off only stops compiling more. Returns false when this v86
 * has no such switch (the guest then simply runs as it was built).
 */
export function setJit(emulator: object, on: boolean): boolean {
  const cpu = (emulator as JitSwitchable).v86?.cpu;
  if (typeof cpu?.set_jit_config !== 'function') return false;
  cpu.set_jit_config(JIT_DISABLED, on ? 0 : 1);
  return true;
}
