/**
 * What a saved machine state depends on. v86 restores raw device and memory state into whatever
 * emulator it is given; a different kernel, initramfs, memory size or v86 build then crashes or
 * corrupts the guest (v86 issues #854, #878, #1400). So every snapshot records the configuration it
 * was taken with, and a restore into a different one is refused with a sentence naming the change.
 */
import type { MachineKind } from '../machine/profiles.ts';

export interface SnapshotConfig {
  kind: MachineKind;
  memoryMb: number;
  /** v86 package version (the state layout belongs to the emulator build). */
  v86: string;
  /** Artifact name (ARTIFACTS key or file) → sha256 hex of the bytes booted from. */
  artifacts: Record<string, string>;
  /** Kernel command line (container host), when the machine was booted with one. */
  cmdline?: string;
  /** Devices that change the state layout: a NIC, the virtio console. */
  devices?: string[];
}

const short = (h: string) => (h.length > 12 ? `${h.slice(0, 12)}…` : h);

/**
 * Why a state saved with `saved` cannot be restored into a machine built with `current`, as sentences
 * (empty when they match). The first one is meant for the card; the rest for a log or a test.
 */
export function configMismatch(saved: SnapshotConfig, current: SnapshotConfig): string[] {
  const out: string[] = [];
  if (saved.kind !== current.kind) out.push(`the snapshot is of a ${label(saved.kind)}, this machine is a ${label(current.kind)}`);
  if (saved.memoryMb !== current.memoryMb) out.push(`the snapshot was taken with ${saved.memoryMb} MiB of memory, this machine has ${current.memoryMb} MiB`);
  if (saved.v86 !== current.v86) out.push(`the snapshot was taken with emulator v86 ${saved.v86}, this page runs v86 ${current.v86}`);
  const names = [...new Set([...Object.keys(saved.artifacts), ...Object.keys(current.artifacts)])].sort();
  for (const name of names) {
    const a = saved.artifacts[name];
    const b = current.artifacts[name];
    if (a === b) continue;
    if (a === undefined) out.push(`this machine boots from ${name}, which the snapshot did not use`);
    else if (b === undefined) out.push(`the snapshot used ${name}, which this machine does not boot from`);
    else out.push(`${name} changed since the snapshot (sha256 ${short(a)} then, ${short(b)} now)`);
  }
  if ((saved.cmdline ?? '') !== (current.cmdline ?? '')) out.push('the kernel command line changed since the snapshot');
  const devA = [...(saved.devices ?? [])].sort().join(',');
  const devB = [...(current.devices ?? [])].sort().join(',');
  if (devA !== devB) out.push(`the snapshot had devices [${devA || 'none'}], this machine has [${devB || 'none'}]`);
  return out;
}

/** Thrown when a restore is refused; `reasons` are configMismatch's sentences. */
export class SnapshotMismatchError extends Error {
  override name = 'SnapshotMismatchError';
  constructor(readonly reasons: string[]) {
    super(
      `This snapshot does not fit this machine: ${reasons[0]}${reasons.length > 1 ? ` (and ${reasons.length - 1} more difference${reasons.length > 2 ? 's' : ''})` : ''}. Boot it fresh instead.`,
    );
  }
}

/** Refuse (throw SnapshotMismatchError) unless `saved` and `current` match. */
export function assertConfigMatches(saved: SnapshotConfig, current: SnapshotConfig): void {
  const reasons = configMismatch(saved, current);
  if (reasons.length) throw new SnapshotMismatchError(reasons);
}

/** A stable text of a configuration (sorted keys), for hashing into storage keys. */
export function canonicalConfig(c: SnapshotConfig): string {
  const artifacts = Object.fromEntries(Object.entries(c.artifacts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return JSON.stringify({ kind: c.kind, memoryMb: c.memoryMb, v86: c.v86, artifacts, cmdline: c.cmdline ?? '', devices: [...(c.devices ?? [])].sort() });
}

function label(kind: MachineKind): string {
  return kind === 'vm' ? 'virtual machine' : 'container host';
}
