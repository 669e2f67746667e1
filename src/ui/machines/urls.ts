/**
 * Absolute URLs of the emulator and guest artifacts for this page. The build copies images/dist
 * to images/ beside index.html (vite.config.ts), and v86's wasm gets a hashed asset name.
 */
import wasmUrl from 'v86/build/v86.wasm?url';
import { ARTIFACTS } from '../../core/artifacts.ts';
import type { MachineUrls } from '../../core/machine/index.ts';

const image = (path: string) => new URL(`images/${path}`, document.baseURI).href;

export function machineUrls(overrides: Partial<MachineUrls> = {}): MachineUrls {
  const abs = (u: string) => new URL(u, document.baseURI).href;
  const urls: MachineUrls = {
    wasm: new URL(wasmUrl, document.baseURI).href,
    seabios: image(ARTIFACTS.seabios),
    vgabios: image(ARTIFACTS.vgabios),
    hostKernel: image(ARTIFACTS.hostKernel),
    hostInitrd: image(ARTIFACTS.hostInitrd),
    hostCmdline: image('host/cmdline.txt'),
    hostStore: image(ARTIFACTS.hostStore),
    vmDisk: image(ARTIFACTS.vmDisk),
  };
  for (const [k, v] of Object.entries(overrides)) if (v) urls[k as keyof MachineUrls] = abs(v);
  return urls;
}
