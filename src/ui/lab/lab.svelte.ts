/** Free play: machines added, power-cycled and removed one at a time. */
import type { MachineKind } from '../../core/machine/index.ts';
import { LIMITS } from '../../core/machine/index.ts';
import { MachineSession, machineUrls } from '../machines/index.ts';

export class Lab {
  sessions = $state<MachineSession[]>([]);
  private serial = { vm: 0, host: 0 };

  canAdd(kind: MachineKind): boolean {
    const count = this.sessions.filter((s) => s.kind === kind).length;
    return kind === 'vm' ? count < LIMITS.vms.max : count < 1;
  }

  add(kind: MachineKind, diskUrl?: string): MachineSession {
    const n = ++this.serial[kind];
    const session = new MachineSession(
      kind === 'vm'
        ? { id: `vm${n}`, name: `VM ${n}`, kind, urls: machineUrls({ vmDisk: diskUrl }) }
        : { id: `host${n === 1 ? '' : n}`, name: 'Container host', kind, urls: machineUrls() },
    );
    this.sessions = [...this.sessions, session];
    void session.powerOn();
    return session;
  }

  private containerSerial = 0;

  /** A new container on the host (warm start: its timer counts from the request). */
  addContainer(host: MachineSession): void {
    const n = ++this.containerSerial;
    host.startContainer(`c${n}`, `c${n}`, 'warm');
  }

  remove(session: MachineSession): void {
    session.dispose();
    this.sessions = this.sessions.filter((s) => s !== session);
  }

  clear(): void {
    for (const s of this.sessions) s.dispose();
    this.sessions = [];
  }
}
