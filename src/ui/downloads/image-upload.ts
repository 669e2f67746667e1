/**
 * "Load image…": an OCI archive the user picks (one "Download image" gave them, or one made with
 * `skopeo copy … oci-archive:FILE` or `podman save --format oci-archive`) streamed into the
 * container host's boxd over the mux and loaded as `box load` loads a file (MachineApi.boxLoad,
 * PROTOCOL.md "Streamed load"). A bad file gets one line and loads nothing.
 */
import type { MachineApi } from '../../core/machine/index.ts';
import { MUX_LOAD_ABORTED } from '../../core/mux/host.ts';
import { looksLikeTar } from './image-download.ts';

/** The part of a machine's control API this needs (src/core/machine/api.ts MachineApi.boxLoad, abortBoxLoad): of the answer, the code and text. */
export interface ImageArchiveTarget {
  boxLoad(...args: Parameters<MachineApi['boxLoad']>): Promise<{ code: number; text: string }>;
  abortBoxLoad: MachineApi['abortBoxLoad'];
}

/** A load under way (startImageLoad). */
export interface ImageLoad {
  /**
   * As loadImageArchive; after cancel(), rejects with "Cancelled: " and boxd's line only when boxd
   * confirmed the abort (nothing loaded). Any other outcome is the load's own, unlabelled.
   */
  done: Promise<string>;
  /**
   * Ask the host to stop the load (LOAD_ABORT). `done` settles with the outcome: cancelled, or, when
   * every byte was already in, the load's own answer (it did load, or failed for its own reasons).
   * Resolves once the host was told.
   */
  cancel(): Promise<void>;
}

/** boxd may take no bytes this long before the load is given up (and aborted, nothing kept). */
export const IMAGE_LOAD_STALL_MS = 60_000;
/**
 * The largest archive offered to the host: its image store lives in a 128 MiB guest, and the page
 * holds the file in memory while it is sent. The page's own images are a few MB.
 */
export const IMAGE_LOAD_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Load the archive `bytes` (file `name`) into the host. Resolves with box load's "Loaded image: …"
 * lines. Throws, loading nothing, with one line: a file that is no tar or too large (checked here,
 * before anything is sent), box load's own line for a bad archive (truncated, a digest that does
 * not match, not an OCI layout), boxd's for a stream that failed, or the mux's when the host stops
 * answering.
 */
export async function loadImageArchive(
  target: ImageArchiveTarget,
  name: string,
  bytes: Uint8Array,
  onProgress?: (taken: number, total: number) => void,
  loadId?: string,
): Promise<string> {
  const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
  if (bytes.length > IMAGE_LOAD_MAX_BYTES)
    throw new Error(`${name} is ${mib(bytes.length)}: the container host takes archives of at most ${mib(IMAGE_LOAD_MAX_BYTES)}`);
  if (!looksLikeTar(bytes))
    throw new Error(`${name} is not a tar archive (an OCI archive is one: podman save --format oci-archive, or skopeo copy … oci-archive:FILE)`);
  const reply = await target.boxLoad(bytes, name, IMAGE_LOAD_STALL_MS, onProgress, loadId);
  if (reply.code !== 0) throw new Error(reply.text.trim() || `box load ${name} failed with exit code ${reply.code}`);
  return reply.text.trim();
}

let loadSerial = 0;

/**
 * loadImageArchive with a Cancel: the load gets an id of this page (`page-load-<n>`) that cancel()
 * hands to the host's abortBoxLoad. A file refused before sending needs no cancel (done rejects at once).
 */
export function startImageLoad(target: ImageArchiveTarget, name: string, bytes: Uint8Array, onProgress?: (taken: number, total: number) => void): ImageLoad {
  const loadId = `page-load-${++loadSerial}`;
  let cancelled = false;
  const done = loadImageArchive(target, name, bytes, onProgress, loadId).catch((err: unknown) => {
    const why = err instanceof Error ? err.message : String(err);
    // boxd's confirmation keeps its name across the worker hop (MuxLoadAbortedError, comlink).
    const confirmed = cancelled && err instanceof Error && err.name === MUX_LOAD_ABORTED;
    throw new Error(confirmed ? `Cancelled: ${why}` : why);
  });
  return {
    done,
    async cancel() {
      cancelled = true;
      await target.abortBoxLoad(loadId);
    },
  };
}
