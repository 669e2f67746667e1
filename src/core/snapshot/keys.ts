/**
 * Where snapshots live in browser storage. One flat namespace (an OPFS directory or an IndexedDB
 * object store), names that say what they are:
 *
 *   resume.<machine id>.snap          the lab's "resume after reload" state of one machine card
 *   warm.<kind>.<config hash 16>.snap  a warm-start image of a freshly booted machine, per configuration
 *
 * A warm key contains the configuration hash, so changed images simply miss instead of being refused.
 */
import type { MachineKind } from '../machine/profiles.ts';
import { canonicalConfig, type SnapshotConfig } from './config.ts';
import { sha256Hex } from './platform.ts';
import { utf8Encoder } from '../mux/platform.ts';

export const SNAPSHOT_DIR = 'stacklab-snapshots';
const ID = /^[a-z0-9][a-z0-9-]{0,47}$/;

export type SnapshotPurpose = 'resume' | 'warm';

export interface ParsedKey {
  purpose: SnapshotPurpose;
  /** resume: the machine id; warm: the machine kind. */
  id: string;
  /** warm only. */
  configHash?: string;
}

export function resumeKey(machineId: string): string {
  if (!ID.test(machineId)) throw new Error(`machine id "${machineId}" cannot name a snapshot (lower-case letters, digits, '-')`);
  return `resume.${machineId}.snap`;
}

export async function warmKey(config: SnapshotConfig): Promise<string> {
  return `warm.${config.kind}.${(await configHash(config)).slice(0, 16)}.snap`;
}

export function configHash(config: SnapshotConfig): Promise<string> {
  return sha256Hex(utf8Encoder.encode(canonicalConfig(config)));
}

export function parseKey(key: string): ParsedKey | undefined {
  let m = /^resume\.([a-z0-9][a-z0-9-]{0,47})\.snap$/.exec(key);
  if (m) return { purpose: 'resume', id: m[1] };
  m = /^warm\.(vm|host)\.([0-9a-f]{16})\.snap$/.exec(key);
  if (m) return { purpose: 'warm', id: m[1] as MachineKind, configHash: m[2] };
  return undefined;
}
