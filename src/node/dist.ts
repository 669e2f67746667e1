/**
 * The images Node runs machines from: images/dist, or $STACKLAB_DIST (same layout), and the
 * MachineUrls of a machine booted from there (file: URLs, read by src/node/thread.ts's fetch).
 */
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { machineUrlsAt } from '../core/artifacts.ts';
import type { MachineUrls } from '../core/machine/index.ts';

export const DIST = process.env.STACKLAB_DIST ?? fileURLToPath(new URL('../../images/dist', import.meta.url));

/** URLs of the artifacts in `dist`; `vmDisk`: another disk file for the VM. */
export function distUrls(dist: string = DIST, vmDisk?: string): MachineUrls {
  const wasm = createRequire(import.meta.url).resolve('v86/build/v86.wasm');
  const urls = machineUrlsAt((path) => pathToFileURL(join(dist, path)).href, pathToFileURL(wasm).href);
  if (vmDisk) urls.vmDisk = pathToFileURL(resolve(vmDisk)).href;
  return urls;
}
