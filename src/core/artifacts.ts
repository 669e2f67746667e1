/**
 * Where the committed guest artifacts live, relative to `images/dist/`.
 * The page resolves them against its base URL, Node against the repo root.
 * `images/dist/manifest.json` lists the same files with sizes and sha256.
 */
export const ARTIFACTS = {
  seabios: 'bios/seabios.bin',
  vgabios: 'bios/vgabios.bin',
  /** Container host: Linux 6.12 bzImage booted directly by v86, plus its initramfs (busybox, boxd, OCI images). */
  hostKernel: 'host/bzImage',
  hostInitrd: 'host/initramfs.cpio',
  /** VM: a plain MBR PC disk (SYSLINUX + Linux 6.1 on a FAT boot partition, ext2 root). */
  vmDisk: 'vm/disk.img',
  manifest: 'manifest.json',
} as const;

export type ArtifactName = keyof typeof ARTIFACTS;
