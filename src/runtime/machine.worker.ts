/// <reference lib="webworker" />
/**
 * A machine's Web Worker (or worker thread, src/node/thread.ts): one MachineRuntime, exposed with
 * comlink as MachineApi. Errors v86 throws inside its run loop land on this worker's global
 * handlers and are reported on the machine's card.
 */
import * as Comlink from 'comlink';
import { MachineRuntime } from './machine-runtime.ts';

declare const self: DedicatedWorkerGlobalScope;

const runtime = new MachineRuntime();
self.addEventListener('error', (e) => runtime.crashed(new Error(e.message), 'crashed'));
self.addEventListener('unhandledrejection', (e) => runtime.crashed(e.reason, 'failed'));
Comlink.expose(runtime);
