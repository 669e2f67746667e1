// One boot, timed the same way in a worker (the lab's own machine worker) or on the main thread
// (v86 built here with the same profile and phase detector), so the two can be compared.
// Result in #out and on window.benchResult: wall ms and guest instructions to the finish marker.
import * as Comlink from 'comlink';
import { V86 } from 'v86';
import {
  InstructionCounter,
  PHASES,
  PhaseDetector,
  Stopwatch,
  machineClock,
  v86Options,
  type MachineConfig,
  type MachineKind,
  type MachineApi,
  type WorkerPortMessage,
} from '../src/core/machine/index.ts';
import { MediaLoader } from '../src/runtime/media.ts';
import { useChannelYield } from '../src/runtime/scheduler.ts';
import { machineUrls } from '../src/ui/machines/urls.ts';

declare global {
  interface Window {
    /** The measurement, read by tests/e2e/speed.spec.ts. */
    benchResult?: BenchResult | { error: string };
  }
}

interface BenchResult {
  where: string;
  scheduler: string;
  kind: MachineKind;
  wallMs: number;
  instructions: number;
  mips: number;
}

const q = new URLSearchParams(location.search);
const where = q.get('where') === 'main' ? 'main' : 'worker';
const scheduler = q.get('scheduler') === 'v86' ? 'v86' : 'channel';
const kind: MachineKind = q.get('kind') === 'host' ? 'host' : 'vm';
const config: MachineConfig = { id: 'bench', kind, urls: machineUrls(), scheduler };

function inWorker(): Promise<{ wallMs: number; instructions: number }> {
  const worker = new Worker(new URL('../src/runtime/machine.worker.ts', import.meta.url), { type: 'module' });
  const api = Comlink.wrap<MachineApi>(worker);
  const { port1, port2 } = new MessageChannel();
  return new Promise((resolve, reject) => {
    port1.onmessage = (e: MessageEvent<WorkerPortMessage>) => {
      const m = e.data;
      if (m.type === 'output') port1.postMessage({ type: 'credit', bytes: m.bytes.length });
      else if (m.event.name === 'finish') resolve(m.event.data);
      else if (m.event.name === 'error') reject(new Error(m.event.data.message));
    };
    void api.init(config, Comlink.transfer(port2, [port2])).then(() => api.powerOn());
  });
}

async function onMainThread(): Promise<{ wallMs: number; instructions: number }> {
  const media = new MediaLoader({
    progress() {},
    diskError(e) {
      throw new Error(e.message);
    },
    storeError(e) {
      throw new Error(e.message);
    },
  });
  const resolved = await media.load(config);
  const module = await media.wasmModule(config.urls.wasm);
  const emu = new V86({
    ...v86Options({ kind }, resolved),
    wasm_fn: async (imports: WebAssembly.Imports) => (await WebAssembly.instantiate(module, imports)).exports,
  } as ConstructorParameters<typeof V86>[0]);
  await new Promise<void>((r) => emu.add_listener('emulator-loaded', () => r()));
  if (scheduler === 'channel') useChannelYield(emu);
  const watch = new Stopwatch(() => performance.now());
  const counter = new InstructionCounter(() => emu.get_instruction_counter());
  return new Promise((resolve) => {
    const detector = new PhaseDetector(PHASES[kind], machineClock(watch, counter), {
      phase(mark) {
        if (detector.finished) resolve(mark);
      },
    });
    emu.add_listener('serial0-output-byte', (b: number) => detector.pushByte(b));
    watch.start();
    counter.reset();
    void emu.run();
  });
}

const out = document.getElementById('out')!;
(where === 'main' ? onMainThread() : inWorker()).then(
  ({ wallMs, instructions }) => {
    const result: BenchResult = { where, scheduler, kind, wallMs, instructions, mips: instructions / wallMs / 1000 };
    window.benchResult = result;
    out.textContent = JSON.stringify(result, null, 2);
  },
  (err) => {
    window.benchResult = { error: String(err) };
    out.textContent = `failed: ${err}`;
  },
);
