// The machines a lesson names, booted for real in v86 under Node, with the same side channels the
// page uses: the VM's lesson agent on COM2, boxd's HOST_EXEC/EXEC for the host and its containers.
// Solve text is typed into each machine's own terminal (serial console, container pty), as "Show me" does.
import { boot, type Machine } from '../boot/harness.ts';
import { MARKERS } from '../../src/core/markers.ts';
import { v86VirtioPort, type V86VirtioPort } from '../../src/core/mux/v86-port.ts';
import { EthernetSwitch, lanMac } from '../../src/core/lan/index.ts';
import {
  machineRole,
  runOnBoxd,
  VmAgentClient,
  type PageAction,
  type Lesson,
  type PageFacts,
  type ScriptResult,
  type ScriptRunner,
} from '../../src/core/lessons/index.ts';

export class NodeLessonLab implements ScriptRunner {
  private readonly vms = new Map<string, { m: Machine; agent: VmAgentClient }>();
  private host: { m: Machine; port: V86VirtioPort } | null = null;
  /** Container name → its terminal's mux channel. */
  private readonly containers = new Map<string, number>();
  readonly facts = new Map<string, string>();
  /** The page's LAN: vmN gets the MAC (so the address, 10.86.0.(10+N)) the lab gives the Nth VM. */
  private readonly lan = new EthernetSwitch();
  /** As on the page: `vmN.panicked` live from that VM's console, the rest as set. */
  readonly pageFacts: PageFacts = {
    get: (n) => {
      const m = /^(vm\d)\.panicked$/.exec(n);
      if (m) return /Kernel panic/.test(this.vms.get(m[1])?.m.serial ?? '') ? 'yes' : undefined;
      return this.facts.get(n);
    },
  };

  /** Boot every machine the lesson lists: VMs logged in as root, the host at its shell, containers at theirs. */
  async start(lesson: Lesson): Promise<void> {
    const vms = lesson.machines.filter((n) => machineRole(n) === 'vm');
    const needsHost = lesson.machines.some((n) => machineRole(n) === 'host' || machineRole(n) === 'container');
    await Promise.all([...vms.map((n) => this.bootVm(n)), needsHost ? this.bootHost() : null]);
    for (const name of lesson.machines.filter((n) => machineRole(n) === 'container')) await this.startContainer(name);
  }

  /** Boot a VM, log in as root; resolves with power-on → login: in wall ms. */
  private async bootVm(name: string): Promise<number> {
    const m = await boot('vm', { lan: { switch: this.lan, mac: lanMac(1, Number(name.slice(2))), nic: 'virtio' } });
    const agent = new VmAgentClient((t) => m.emulator.serial_send_bytes(1, new TextEncoder().encode(t)));
    m.emulator.add_listener('serial1-output-byte', (b: number) => agent.receiveByte(b));
    const login = await m.waitFor(MARKERS.login, 90_000, `${name} login`);
    const from = m.serial.length;
    m.type('root\n');
    await m.waitFor(/# $/m, 20_000, `${name} shell`, from);
    this.vms.set(name, { m, agent });
    return login.wallMs;
  }

  private async bootHost(): Promise<void> {
    const m = await boot('host');
    const port = v86VirtioPort(m.emulator);
    await m.waitFor(MARKERS.hostReady, 90_000, 'host ready');
    m.type('\n');
    await m.waitFor(/# $/m, 20_000, 'host shell');
    await port.host.ready;
    this.host = { m, port };
    // Right after ready boxd unpacks layers and prepares namespaces while idle: wait until it answers.
    await runOnBoxd(port.host, 'host', 'true', 120_000);
  }

  /** A `solve page` action, as the page does it: facts set, or a timed race (a VM power-cycled, a new container). */
  async act(a: PageAction): Promise<void> {
    if (a.verb === 'set') {
      this.facts.set(a.fact, a.value);
      return;
    }
    const old = this.vms.get(a.vm);
    if (old) {
      old.agent.close();
      await old.m.stop();
      this.vms.delete(a.vm);
    }
    const [vmMs, containerMs] = await Promise.all([this.bootVm(a.vm), this.startContainer(`race${this.facts.size}`)]);
    this.facts.set('race.vm-ms', String(Math.round(vmMs)));
    this.facts.set('race.container-ms', String(Math.round(containerMs)));
  }

  /** A container as the lab starts one (`box run -it --name N --hostname N busybox sh`), its output acknowledged as a terminal would. */
  private async startContainer(name: string): Promise<number> {
    const mux = this.host!.port.host;
    const t0 = performance.now();
    let prompt: () => void;
    const seen = new Promise<void>((r) => (prompt = r));
    const h = mux.run(
      ['-it', '--name', name, '--hostname', name, 'busybox', 'sh'],
      {
        output: (b) => {
          mux.ack(h.channel, b.length);
          if (new TextDecoder().decode(b).includes('# ')) prompt();
        },
      },
      120_000,
    ); // generous: a race starts it while a VM boots in the same Node thread
    await h.started;
    await seen;
    this.containers.set(name, h.channel);
    return performance.now() - t0;
  }

  /** Guest instructions each check took on the machine that ran it, in the order they ran. */
  readonly instructions: number[] = [];

  async run(machine: string, source: string): Promise<ScriptResult> {
    const vm = this.vms.get(machine);
    const m = vm?.m ?? this.host?.m;
    if (!m) throw new Error(`no machine ${machine}`);
    const i0 = m.instructions();
    const r = await (vm ? vm.agent.run(source) : runOnBoxd(this.host!.port.host, machine, source));
    this.instructions.push(m.instructions() - i0);
    return r;
  }

  /** Type `text` into `machine`'s terminal, as "Show me" does. */
  type(machine: string, text: string): void {
    const vm = this.vms.get(machine);
    if (vm) return vm.m.type(text);
    if (machine === 'host') return this.host!.m.type(text);
    const channel = this.containers.get(machine);
    if (channel === undefined) throw new Error(`no terminal for ${machine}`);
    this.host!.port.host.input(channel, text);
  }

  /** Serial or terminal text of a machine, for failure messages. */
  screen(machine: string): string {
    const vm = this.vms.get(machine);
    if (vm) return vm.m.serial.slice(-1500);
    if (this.host) return this.host.m.serial.slice(-1500);
    return '';
  }

  async stop(): Promise<void> {
    for (const { m, agent } of this.vms.values()) {
      agent.close();
      await m.stop();
    }
    if (this.host) {
      this.host.port.close();
      await this.host.m.stop();
    }
  }
}
