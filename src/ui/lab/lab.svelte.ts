/** Free play: machines added, power-cycled and removed one at a time. */
import type { MachineKind } from '../../core/machine/index.ts';
import { LIMITS } from '../../core/machine/index.ts';
import { MachineSession, machineUrls } from '../machines/index.ts';
import { pageLan } from '../lan/index.ts';

/** How a machine just added starts once its NIC is plugged: a fresh boot by default, or e.g. its saved state resumed. */
export type StartMachine = (session: MachineSession) => Promise<void>;

export class Lab {
  sessions = $state<MachineSession[]>([]);
  private serial = { vm: 0, host: 0 };

  canAdd(kind: MachineKind): boolean {
    const count = this.sessions.filter((s) => s.kind === kind).length;
    return kind === 'vm' ? count < LIMITS.vms.max : count < 1;
  }

  add(kind: MachineKind, diskUrl?: string, start: StartMachine = (s) => s.powerOn()): MachineSession {
    const n = ++this.serial[kind];
    const id = kind === 'vm' ? `vm${n}` : `host${n === 1 ? '' : n}`;
    // Every lab machine has a NIC on this page's LAN (src/ui/lan): the VMs ping each other, and the
    // host (10.86.0.2) routes them to its containers and back.
    const options = { network: pageLan.nic(id) };
    const session = new MachineSession(
      kind === 'vm'
        ? { id, name: `VM ${n}`, kind, urls: machineUrls({ vmDisk: diskUrl }), options }
        : { id, name: 'Container host', kind, urls: machineUrls(), options },
    );
    this.sessions = [...this.sessions, session];
    // Plugged before power-on, so the guest's driver finds the NIC's MAC; a failed plug shows on power-on.
    const plugged = pageLan.plug(session).catch(() => {});
    void plugged.then(() => start(session));
    return session;
  }

  private containerSerial = 0;

  /** A new container on the host (warm start: its timer counts from the request), named `name` or the next free c<n>. */
  addContainer(host: MachineSession, name?: string): void {
    if (name) {
      host.startContainer(name, name, 'warm');
      return;
    }
    let n = ++this.containerSerial;
    // Containers resumed from a snapshot keep their names: skip those.
    while (host.containers.some((c) => c.name === `c${n}`)) n = ++this.containerSerial;
    host.startContainer(`c${n}`, `c${n}`, 'warm');
  }

  remove(session: MachineSession): void {
    pageLan.unplug(session);
    session.dispose();
    this.sessions = this.sessions.filter((s) => s !== session);
  }

  clear(): void {
    for (const s of this.sessions) {
      pageLan.unplug(s);
      s.dispose();
    }
    this.sessions = [];
  }
}
