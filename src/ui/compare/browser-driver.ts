/**
 * The experiments' Driver in the page: core's MachineDriver (src/core/experiments/machine-driver.ts)
 * on this page's platform. Every machine is a MachineSession (its own Web Worker, card and terminal,
 * as on the lab page), with a NIC on the page's LAN when asked; artifacts are fetched like the page's
 * own downloads.
 */
import v86Package from 'v86/package.json';
import { MachineDriver, type DriverPlatform, type DrivenMachineSpec } from '../../core/experiments/machine-driver.ts';
import type { DriverFacts } from '../../core/experiments/driver.ts';
import { MachineSession, machineUrls } from '../machines/index.ts';
import { pageLan } from '../lan/index.ts';
import type { TerminalSession } from '../terminal/index.ts';

/** How the page learns about the machines an experiment uses (to show their cards and terminals). */
export interface DriverObserver {
  machine(session: MachineSession): void;
}

/**
 * Driven consoles do not answer cursor-position queries (ESC [6n). busybox ash's line editor asks
 * after each prompt; xterm's reply arrives asynchronously and lands inside the next typed command,
 * mangling it. Without a reply ash edits lines all the same, as it does in Node, where no terminal answers.
 */
function noCursorReports(terminal: TerminalSession) {
  terminal.configure((term) => term.parser.registerCsiHandler({ final: 'n' }, (params) => params[0] === 6));
}

const artifactUrl = (path: string) => new URL(`images/${path}`, document.baseURI).href;

class BrowserPlatform implements DriverPlatform<MachineSession> {
  readonly runtime = 'browser' as const;

  constructor(private readonly observer: DriverObserver) {}

  async open(spec: DrivenMachineSpec): Promise<MachineSession> {
    const session = new MachineSession({
      id: spec.id,
      name: spec.name,
      kind: spec.kind,
      urls: machineUrls(),
      // A NIC on this page's LAN (src/ui/lan), plugged in before power-on.
      options: { memoryMb: spec.memoryMb, network: spec.network ? pageLan.nic(spec.id, spec.network.type) : undefined },
    });
    noCursorReports(session.terminal);
    this.observer.machine(session);
    if (spec.network) await pageLan.plug(session);
    return session;
  }

  async close(session: MachineSession): Promise<void> {
    pageLan.unplug(session);
  }

  trackContainer(session: MachineSession, name: string) {
    const card = session.trackContainer(`${session.id}-${name}`, name, 'warm');
    noCursorReports(card.terminal);
    return card;
  }

  async readArtifact(path: string): Promise<Uint8Array> {
    const res = await fetch(artifactUrl(path));
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  }

  async artifactSize(path: string): Promise<number> {
    const head = await fetch(artifactUrl(path), { method: 'HEAD' }).catch(() => undefined);
    const length = Number(head?.headers.get('content-length'));
    if (head?.ok && Number.isFinite(length) && length > 0) return length;
    return (await this.readArtifact(path)).byteLength;
  }

  now(): number {
    return performance.now();
  }

  async facts(): Promise<DriverFacts> {
    return {
      runtime: 'browser',
      runtimeVersion: navigator.userAgent,
      cpuModel: 'not visible to a web page',
      cores: navigator.hardwareConcurrency ?? 0,
      v86Version: v86Package.version,
    };
  }
}

/** The page's driver: each experiment run gets a fresh one, whose machines the row shows. */
export class BrowserDriver extends MachineDriver<MachineSession> {
  constructor(observer: DriverObserver) {
    super(new BrowserPlatform(observer));
  }
}
