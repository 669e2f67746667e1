/**
 * v86's wasm, compiled once for the whole page as soon as it loads and handed to every machine
 * worker (a WebAssembly.Module can be posted to workers), instead of each worker fetching and
 * compiling 2 MB on its own when Start is pressed.
 */
import { machineUrls } from './urls.ts';

let compiled: Promise<WebAssembly.Module | undefined> | undefined;

/** Resolves to undefined if compiling fails here: the workers then try themselves and report it. */
export function emulatorModule(): Promise<WebAssembly.Module | undefined> {
  compiled ??= WebAssembly.compileStreaming(fetch(machineUrls().wasm)).catch(() => undefined);
  return compiled;
}
