/**
 * The experiments' Driver in Node (`npm run bench`, tests/boot/experiments.test.ts): core's
 * MachineDriver on worker threads, each running the page's MachineRuntime (thread.ts), so the bench
 * measures the code the page runs. Artifacts are read from images/dist ($STACKLAB_DIST); machines
 * with a NIC join one Ethernet switch in this thread, a MessagePort to each, as the page's LAN does.
 */
import { readFileSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import * as Comlink from 'comlink';
import v86Package from 'v86/package.json';
import { MachineDriver, type DrivenMachineSpec, type DriverPlatform } from '../core/experiments/machine-driver.ts';
import type { DriverFacts } from '../core/experiments/driver.ts';
import { EthernetSwitch, connectPortToSwitch, lanMac, type LanPortLike, type SwitchPort } from '../core/lan/index.ts';
import type { ConsolePortLike } from '../core/machine/index.ts';
import { DIST, distUrls } from './dist.ts';
import { HeadlessMachine } from './machine.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

function gitCommit(): string | undefined {
  try {
    const sha = execFileSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', REPO, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim();
    return dirty ? `${sha}+dirty` : sha;
  } catch {
    return undefined;
  }
}

class NodePlatform implements DriverPlatform<HeadlessMachine> {
  readonly runtime = 'node' as const;
  /** This driver's LAN (src/core/lan): one switch; every NIC gets its own machine number. */
  readonly lan = new EthernetSwitch();
  private lanNumber = 0;
  private readonly cables = new Map<HeadlessMachine, SwitchPort>();
  private wasm: Promise<WebAssembly.Module> | undefined;

  constructor(private readonly dist: string) {}

  async open(spec: DrivenMachineSpec): Promise<HeadlessMachine> {
    const urls = distUrls(this.dist);
    // Compiled once and handed to every thread, as the page does (emulator-module.ts).
    this.wasm ??= WebAssembly.compile(readFileSync(new URL(urls.wasm)));
    const network = spec.network && { type: spec.network.type, mac: lanMac(0, (this.lanNumber++ % 199) + 1) };
    const machine = new HeadlessMachine({ id: spec.id, name: spec.name, kind: spec.kind }, urls, await this.wasm, { memoryMb: spec.memoryMb, network });
    if (network) {
      await machine.prepare();
      const cable = new MessageChannel();
      this.cables.set(machine, connectPortToSwitch(this.lan, cable.port1 as unknown as LanPortLike, spec.name));
      const end = cable.port2 as unknown as ConsolePortLike & Transferable;
      await machine.control!.attachLan(Comlink.transfer(end, [end]));
    }
    return machine;
  }

  async close(machine: HeadlessMachine): Promise<void> {
    this.cables.get(machine)?.disconnect();
    this.cables.delete(machine);
    await machine.dispose();
  }

  trackContainer(machine: HeadlessMachine, name: string) {
    return machine.trackContainer(`${machine.id}-${name}`, name, 'warm');
  }

  async readArtifact(path: string): Promise<Uint8Array> {
    return new Uint8Array(readFileSync(join(this.dist, path)));
  }

  async artifactSize(path: string): Promise<number> {
    return statSync(join(this.dist, path)).size;
  }

  now(): number {
    return performance.now();
  }

  async facts(): Promise<DriverFacts> {
    return {
      runtime: 'node',
      runtimeVersion: process.version,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      v86Version: v86Package.version,
      commit: gitCommit(),
    };
  }
}

/** Node's driver: machines in worker threads, from `dist` (default images/dist or $STACKLAB_DIST). */
export class NodeDriver extends MachineDriver<HeadlessMachine> {
  constructor(dist: string = DIST) {
    super(new NodePlatform(dist));
  }
}
