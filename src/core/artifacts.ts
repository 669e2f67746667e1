/**
 * Where the committed guest artifacts live, relative to `images/dist/`.
 * The page resolves them against its base URL, Node against the repo root.
 * `images/dist/manifest.json` lists the same files with sizes and sha256.
 */
export const ARTIFACTS = {
  seabios: 'bios/seabios.bin',
  vgabios: 'bios/vgabios.bin',
  /** Container host: Linux 6.12 bzImage booted directly by v86, plus its initramfs (busybox, init, boxd). */
  hostKernel: 'host/bzImage',
  hostInitrd: 'host/initramfs.cpio',
  /** Container host: the image store (OCI layout + pulled layers, ext2) on its IDE disk, read lazily. */
  hostStore: 'host/store.img',
  /** VM: a plain MBR PC disk (SYSLINUX + Linux 6.1 on a FAT boot partition, ext2 root). */
  vmDisk: 'vm/disk.img',
  manifest: 'manifest.json',
} as const;

/** The artifacts that are disks, read lazily chunk by chunk: the VM's disk and the host's image store. */
export const DISK_ARTIFACTS = [ARTIFACTS.vmDisk, ARTIFACTS.hostStore] as const;

/**
 * What the build knows about the committed artifacts, embedded in the bundle so every download is
 * checked against it (vite: `virtual:stacklab/images`, made from images/dist/manifest.json).
 * The disks are also split into fixed-size chunk files named by their sha256, so hosts without
 * HTTP Range requests serve them and identical chunks (zeros) are stored once.
 */
export interface ImageIntegrity {
  /** sha256 (hex) of each whole artifact, by path under images/dist. */
  files: Record<string, string>;
  /** Chunk index of each disk artifact (DISK_ARTIFACTS), by its path under images/dist. */
  disks: Record<string, DiskChunkIndex>;
  /**
   * Where the artifacts are, when it is known exactly (the headless race: a file: URL of the
   * images folder, ending in "/"). Without it an artifact is any URL ending in /images/<file>, as
   * the page's build serves them.
   */
  base?: string;
}

export interface DiskChunkIndex {
  /** The disk's path under images/dist (its whole-file sha256 is in `files`). */
  file: string;
  bytes: number;
  chunkBytes: number;
  /** sha256 of each chunk in disk order; the chunk file is `<file>.chunks/<sha256>.bin`. */
  chunks: string[];
}

/** Where chunk files live, relative to the disk image's own URL. */
export const diskChunkPath = (diskFile: string, sha256: string) => `${diskFile.split('/').pop()}.chunks/${sha256}.bin`;

/**
 * The artifact path a URL serves, if it is one the build knows: `…/images/<path>` for a path in
 * `files`. Overridden URLs (another disk, a test's missing file) have no expected hash.
 */
export function artifactPath(integrity: ImageIntegrity, url: string): string | undefined {
  const path = url.split(/[?#]/)[0];
  const base = integrity.base;
  return Object.keys(integrity.files).find((file) => (base ? path === base + file : path.endsWith(`/images/${file}`)));
}

export const toHex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
