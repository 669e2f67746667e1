/**
 * Snapshots inside a machine worker: the configuration this machine booted from (hashes of the
 * very bytes it loaded), taking a state (quiesced: emulator stopped, no disk read in flight),
 * and reading one back for a restore — refused before any emulator sees it when the configuration
 * differs. Storage is snapshot-store.ts (OPFS or IndexedDB), shared with the page.
 */
import type { V86 } from 'v86';
import v86Package from 'v86/package.json';
import type { LazyDisk } from '../core/lazy-disk.ts';
import { PROFILES, type MachineConfig, type ResolvedMedia, type SnapshotReport } from '../core/machine/index.ts';
import {
  assertConfigMatches,
  decodeHeader,
  decodeSnapshot,
  encodeSnapshot,
  sha256Hex,
  storeSnapshot,
  type SnapshotConfig,
  type SnapshotExtra,
  type SnapshotHeader,
} from '../core/snapshot/index.ts';
import { openSnapshotStore } from './snapshot-store.ts';

export const V86_VERSION: string = v86Package.version;

/** sha256 of each manifest file, to name a lazily read disk (VM disk, host store) without reading all of it. */
async function manifestHashes(cfg: MachineConfig): Promise<Map<string, { sha256: string; bytes: number }>> {
  try {
    const r = await fetch(new URL('../manifest.json', cfg.urls.seabios));
    const m = (await r.json()) as { artifacts: { file: string; sha256: string; bytes: number }[] };
    return new Map(m.artifacts.map((a) => [a.file, a]));
  } catch {
    return new Map();
  }
}

/** What a state of this machine depends on. Preloaded files are hashed as loaded; the disk by its manifest entry. */
export async function snapshotConfigOf(cfg: MachineConfig, media: ResolvedMedia): Promise<SnapshotConfig> {
  const artifacts: Record<string, string> = {};
  const hash = async (name: string, b: ArrayBuffer | undefined) => {
    if (b) artifacts[name] = await sha256Hex(new Uint8Array(b));
  };
  await Promise.all([hash('seabios', media.bios), hash('vgabios', media.vgaBios), hash('hostKernel', media.kernel), hash('hostInitrd', media.initrd)]);
  if (media.disk) {
    const [name, url] = cfg.kind === 'vm' ? (['vmDisk', cfg.urls.vmDisk] as const) : (['hostStore', cfg.urls.hostStore] as const);
    const path = decodeURIComponent(new URL(url).pathname);
    const known = [...(await manifestHashes(cfg))].find(([file, a]) => path.endsWith(`/${file}`) && a.bytes === media.disk!.byteLength);
    // A disk the manifest does not list is named by its address and size: enough to refuse another disk.
    artifacts[name] = known ? known[1].sha256 : `url:${url}#${media.disk.byteLength}`;
  }
  const devices = [...(cfg.kind === 'host' ? ['virtio-console'] : []), ...(cfg.network ? [`nic-${cfg.network.type}`] : [])];
  return {
    kind: cfg.kind,
    memoryMb: cfg.memoryMb ?? PROFILES[cfg.kind].memoryMb,
    v86: V86_VERSION,
    artifacts,
    ...(cfg.kind === 'host' ? { cmdline: media.cmdline?.trim() ?? '' } : {}),
    devices,
  };
}

/**
 * save_state() of a running machine, quiesced: the emulator is stopped, outstanding disk reads are
 * answered first, and it runs on afterwards if it was running.
 */
export async function captureState(emu: V86, disk: LazyDisk | undefined): Promise<Uint8Array> {
  const wasRunning = emu.is_running();
  await emu.stop();
  try {
    await disk?.whenIdle();
    return new Uint8Array(await emu.save_state());
  } finally {
    if (wasRunning) void emu.run();
  }
}

/** quota − usage for this origin, when the browser tells (it may round; used only to name a full quota). */
async function browserHeadroom(): Promise<number | undefined> {
  if (!navigator.storage?.estimate) return undefined;
  const { usage, quota } = await navigator.storage.estimate();
  return usage === undefined || quota === undefined ? undefined : quota - usage;
}

/** Compress, frame and store a state; the store keeps the previous file if this write fails. */
export async function writeSnapshot(key: string, machineId: string, config: SnapshotConfig, state: Uint8Array, extra: SnapshotExtra): Promise<SnapshotReport> {
  const t0 = performance.now();
  const { bytes, header } = await encodeSnapshot({ config, machineId, state, extra });
  await storeSnapshot(await openSnapshotStore(), key, bytes, browserHeadroom);
  return { key, rawBytes: header.rawBytes, storedBytes: header.storedBytes, createdAt: header.createdAt, ms: performance.now() - t0 };
}

/** The header of a stored snapshot, or undefined when there is none under `key`. */
export async function snapshotHeader(key: string): Promise<SnapshotHeader | undefined> {
  const head = await (await openSnapshotStore()).head(key, 64 * 1024);
  return head ? decodeHeader(head).header : undefined;
}

/** Read a stored snapshot for `config`: refused (SnapshotMismatchError) before it is inflated if it does not fit. */
export async function readSnapshot(key: string, config: SnapshotConfig): Promise<{ header: SnapshotHeader; state: Uint8Array }> {
  const bytes = await (await openSnapshotStore()).get(key);
  if (!bytes) throw new Error(`there is no saved snapshot "${key}" in this browser`);
  return openSnapshot(bytes, config);
}

/**
 * A snapshot file for `config`, stored or handed over (the experiments' saved states): refused
 * (SnapshotMismatchError) before it is inflated if it does not fit. The one check every restore passes.
 */
export async function openSnapshot(bytes: Uint8Array, config: SnapshotConfig): Promise<{ header: SnapshotHeader; state: Uint8Array }> {
  assertConfigMatches(decodeHeader(bytes).header.config, config);
  return decodeSnapshot(bytes);
}
