/**
 * Absolute URLs of the emulator and guest artifacts for this page. The build copies images/dist
 * to images/ beside index.html (vite.config.ts), and v86's wasm gets a hashed asset name.
 */
import wasmUrl from 'v86/build/v86.wasm?url';
import { machineUrlsAt } from '../../core/artifacts.ts';
import type { MachineUrls } from '../../core/machine/index.ts';

export function machineUrls(overrides: Partial<MachineUrls> = {}): MachineUrls {
  const abs = (u: string) => new URL(u, document.baseURI).href;
  const urls = machineUrlsAt((path) => abs(`images/${path}`), abs(wasmUrl));
  for (const [k, v] of Object.entries(overrides)) if (v) urls[k as keyof MachineUrls] = abs(v);
  return urls;
}
