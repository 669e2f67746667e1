/**
 * "Download image": a container's image as an OCI image layout in a tar archive, exactly the bytes
 * `box save IMAGE` writes (boxd answers the mux's `save` verb with the archive, PROTOCOL.md CMD), so
 * `skopeo inspect oci-archive:FILE` reads it and `podman load -i FILE` loads it
 * (tests/e2e/take-it-elsewhere.spec.ts).
 */

/** The part of a machine's control API this needs (src/core/machine/api.ts MachineApi.boxCmdBytes). */
export interface ImageArchiveSource {
  boxCmdBytes(argv: string[], timeoutMs: number, onProgress?: (received: number) => void): Promise<{ code: number; bytes: Uint8Array; stderr: string }>;
}

/**
 * The whole archive must have crossed the mux by then. Generous: the host's console moves a few
 * MB/s in v86 on a quiet machine, and the page's images are a few MB at most.
 */
export const IMAGE_SAVE_TIMEOUT_MS = 120_000;

/** A POSIX tar header has "ustar" at byte 257 (POSIX.1-2017, pax: the ustar header block; GNU tar's "ustar  " too). */
export function looksLikeTar(bytes: Uint8Array): boolean {
  return bytes.length >= 1024 && bytes.length % 512 === 0 && new TextDecoder().decode(bytes.subarray(257, 262)) === 'ustar';
}

/**
 * `box save IMAGE` on the container host: the archive's bytes. `onProgress(received)` in bytes as
 * they arrive. Throws with boxd's own line when it refuses (an unknown image: "box save: …"), with
 * the mux's reason when the host does not answer in time, and when the answer is not a tar archive:
 * nothing partial is returned.
 */
export async function saveImageArchive(source: ImageArchiveSource, image: string, onProgress?: (received: number) => void): Promise<Uint8Array> {
  const reply = await source.boxCmdBytes(['save', image], IMAGE_SAVE_TIMEOUT_MS, onProgress);
  if (reply.code !== 0) throw new Error(reply.stderr.trim() || `box save ${image} failed with exit code ${reply.code}`);
  if (!looksLikeTar(reply.bytes)) throw new Error(`box save ${image} answered with ${reply.bytes.length} bytes that are not a tar archive`);
  return reply.bytes;
}

/** The file name offered for an image's archive: `stacklab-busybox.oci.tar` (a tag's ":" becomes "_"). */
export function imageArchiveName(image: string): string {
  return `stacklab-${image.replace(/[^A-Za-z0-9._-]/g, '_')}.oci.tar`;
}
