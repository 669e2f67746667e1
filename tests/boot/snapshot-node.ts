// Snapshots of real guests in Node: the configuration a machine was booted from (hashed from the
// same files the harness boots), save_state → the stacklab snapshot file, and a restore into a
// freshly built emulator. Shared by tests/boot/snapshot.test.ts and bench/snapshot.ts.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS } from '../../src/core/artifacts.ts';
import { PROFILES, type MachineKind } from '../../src/core/machine/profiles.ts';
import { setJit } from '../../src/core/machine/jit.ts';
import { assertConfigMatches, decodeHeader, decodeSnapshot, encodeSnapshot, type SnapshotConfig, type SnapshotExtra } from '../../src/core/snapshot/index.ts';
import { DIST, REPO, hostCmdline, Machine, type BootOptions } from './harness.ts';

export const V86_VERSION: string = JSON.parse(readFileSync(join(REPO, 'node_modules/v86/package.json'), 'utf8')).version;

const sha = (file: string) =>
  createHash('sha256')
    .update(readFileSync(join(DIST, file)))
    .digest('hex');

/** The configuration a harness Machine of `kind` boots with (cmdline: the one actually passed). */
export function nodeConfig(kind: MachineKind, opts: BootOptions = {}): SnapshotConfig {
  const files = kind === 'vm' ? (['seabios', 'vgabios', 'vmDisk'] as const) : (['seabios', 'hostKernel', 'hostInitrd', 'hostStore'] as const);
  const cmdline = kind === 'host' ? String(opts.extra?.cmdline ?? hostCmdline()) : undefined;
  return {
    kind,
    memoryMb: opts.memoryMb ?? PROFILES[kind].memoryMb,
    v86: V86_VERSION,
    artifacts: Object.fromEntries(files.map((f) => [f, sha(ARTIFACTS[f])])),
    ...(cmdline ? { cmdline } : {}),
    devices: kind === 'host' ? ['virtio-console'] : [],
  };
}

export interface Saved {
  file: Uint8Array;
  rawBytes: number;
  storedBytes: number;
  saveMs: number;
  encodeMs: number;
}

/** save_state() of a running machine, packed into a snapshot file. */
export async function saveMachine(m: Machine, config: SnapshotConfig, extra: SnapshotExtra = {}): Promise<Saved> {
  const t0 = performance.now();
  // Quiesce: no guest disk read may be in flight when the state is taken (see LazyDisk.whenIdle).
  await m.emulator.stop();
  await m.disk?.whenIdle();
  const raw = new Uint8Array(await m.emulator.save_state());
  m.emulator.run();
  const t1 = performance.now();
  const { bytes, header } = await encodeSnapshot({ config, machineId: m.kind, state: raw, extra });
  return { file: bytes, rawBytes: header.rawBytes, storedBytes: header.storedBytes, saveMs: t1 - t0, encodeMs: performance.now() - t1 };
}

export interface Restored {
  m: Machine;
  /** Inflating the file. */
  decodeMs: number;
  /** v86 restore_state(). */
  restoreMs: number;
  /** performance.now() when the restore began (file in memory, emulator built). */
  t0: number;
}

/**
 * Check the snapshot's configuration against `opts` (throws SnapshotMismatchError), build a fresh
 * emulator and restore. The emulator runs the BIOS for the moment it takes to load;
 * restore_state replaces all of it.
 */
export async function restoreMachine(kind: MachineKind, file: Uint8Array, opts: BootOptions = {}): Promise<Restored> {
  // Refuse before building anything: v86 never sees a state from another configuration.
  assertConfigMatches(decodeHeader(file).header.config, nodeConfig(kind, opts));
  const m = new Machine(kind, opts);
  await m.started;
  await m.emulator.stop();
  const t0 = performance.now();
  const { state } = await decodeSnapshot(file);
  const t1 = performance.now();
  await m.emulator.restore_state(state.buffer.slice(state.byteOffset, state.byteOffset + state.byteLength));
  const t2 = performance.now();
  // A restored machine is past its boot: the JIT on, as the page's runtime does on resume.
  setJit(m.emulator, true);
  m.emulator.run();
  return { m, decodeMs: t1 - t0, restoreMs: t2 - t1, t0 };
}
