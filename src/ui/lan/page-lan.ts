/**
 * This page's LAN: one Ethernet switch living in the page, a MessagePort to each machine worker.
 * No BroadcastChannel (v86's 'inbrowser' relay uses one, and every tab of the origin would join):
 * another tab has its own PageLan and its own switch, so the two LANs never see each other.
 *
 * How a machine joins (before it powers on, so the guest's driver sees the MAC):
 *   const session = new MachineSession({ ..., options: { network: pageLan.nic(id) } });
 *   await pageLan.plug(session);   // spawns the worker, hands it its end of the cable
 *   await session.powerOn();
 *   ...
 *   pageLan.unplug(session);       // on dispose: frees the port and the MAC
 */
import * as Comlink from 'comlink';
import { EthernetSwitch, connectPortToSwitch, lanMac, vmAddressForMac, type LanPortLike, type SwitchPort } from '../../core/lan/index.ts';
import type { MachineConfig } from '../../core/machine/index.ts';
import type { MachineSession } from '../machines/index.ts';

export type NicType = 'ne2k' | 'virtio';

interface Member {
  index: number;
  mac: string;
  port?: SwitchPort;
}

export class PageLan {
  readonly switch = new EthernetSwitch();
  /** Random per page load: goes into every MAC, so two tabs' machines never share MAC addresses. */
  readonly tag = Math.floor(Math.random() * 0x10000);
  private readonly members = new Map<string, Member>();

  /**
   * A NIC for machine `id` (the session's id): the smallest free machine number on this LAN gives
   * its MAC, and the VM derives its address (10.86.0.x) from that.
   */
  nic(id: string, type: NicType = 'virtio'): NonNullable<MachineConfig['network']> {
    let m = this.members.get(id);
    if (!m) {
      const used = new Set([...this.members.values()].map((x) => x.index));
      let index = 1;
      while (used.has(index)) index++;
      if (index > 199) throw new Error('this LAN is full (199 machines)');
      m = { index, mac: lanMac(this.tag, index) };
      this.members.set(id, m);
    }
    return { type, mac: m.mac };
  }

  /** The address the VM `id` gets on this LAN (what its rc script derives from the MAC). */
  address(id: string): string | undefined {
    const m = this.members.get(id);
    return m && vmAddressForMac(m.mac);
  }

  /** Connect the session's worker to the switch. Its spec must carry `nic(id)` as network. */
  async plug(session: MachineSession): Promise<void> {
    const m = this.members.get(session.id);
    if (!m || session.spec.options?.network?.mac !== m.mac) throw new Error(`${session.name} has no NIC from this LAN (use pageLan.nic(id))`);
    if (m.port) return;
    await session.prepare();
    const control = session.control;
    if (!control) throw new Error(`${session.name}: its worker did not start`);
    const cable = new MessageChannel();
    // A DOM MessagePort is a LanPortLike (its onmessage takes a MessageEvent, which has `data`).
    m.port = connectPortToSwitch(this.switch, cable.port1 as unknown as LanPortLike, session.name);
    await control.attachLan(Comlink.transfer(cable.port2, [cable.port2]));
  }

  /** Take the machine off the LAN and free its number. */
  unplug(session: MachineSession | string): void {
    const id = typeof session === 'string' ? session : session.id;
    this.members.get(id)?.port?.disconnect();
    this.members.delete(id);
  }

  get size(): number {
    return this.members.size;
  }
}

/** The one LAN of this page. */
export const pageLan = new PageLan();
