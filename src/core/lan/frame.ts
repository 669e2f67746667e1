/**
 * Ethernet frames as the emulated NICs hand them over: destination MAC, source MAC, EtherType,
 * payload, no preamble and no FCS. Emulated NICs do not pad short frames either (virtio-net sends
 * a 42-byte ARP request as is), so the sanity limits here are about headers and MTU, not the
 * 64-byte wire minimum of real Ethernet.
 */

/** Destination + source + EtherType. A shorter frame cannot be switched: a runt. */
export const ETH_HEADER = 14;
/** 1500-byte MTU + header + one 802.1Q tag. A longer frame is a giant. */
export const ETH_MAX_FRAME = 1500 + ETH_HEADER + 4;

export type FrameVerdict = 'ok' | 'runt' | 'giant' | 'bad-source';

export function checkFrame(frame: Uint8Array, maxFrame = ETH_MAX_FRAME): FrameVerdict {
  if (frame.length < ETH_HEADER) return 'runt';
  if (frame.length > maxFrame) return 'giant';
  // A group address as source is invalid (IEEE 802.3 §3.2.3); learning it would poison the table.
  if (frame[6]! & 1) return 'bad-source';
  return 'ok';
}

/** 48-bit MAC as a number key (fits a double exactly). */
export function macKey(frame: Uint8Array, offset: number): number {
  return (
    frame[offset]! * 2 ** 40 +
    frame[offset + 1]! * 2 ** 32 +
    ((frame[offset + 2]! << 24) >>> 0) +
    (frame[offset + 3]! << 16) +
    (frame[offset + 4]! << 8) +
    frame[offset + 5]!
  );
}

/** Broadcast or multicast destination (I/G bit of the first octet). */
export function isGroupDestination(frame: Uint8Array): boolean {
  return (frame[0]! & 1) === 1;
}

export function formatMac(mac: Uint8Array): string {
  return Array.from(mac.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(':');
}

export function parseMac(text: string): Uint8Array {
  const parts = text.trim().split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) throw new Error(`not a MAC address: ${text}`);
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

/**
 * A locally administered unicast MAC for machine `index` (1..199) on a LAN tagged `lanTag` (0..65535).
 * The VM's rc script (images/vm/rootfs/etc/init.d/network) derives its address from the last octet,
 * so machines on one LAN get different last octets and therefore different addresses.
 */
export function lanMac(lanTag: number, index: number): string {
  if (!Number.isInteger(index) || index < 1 || index > 199) throw new Error(`LAN machine index must be 1..199, got ${index}`);
  const tag = lanTag & 0xffff;
  return formatMac(Uint8Array.of(0x02, 0x86, tag >> 8, tag & 0xff, 0x00, index));
}

/**
 * The container host's address on the page's LAN (images/host/rootfs/init): fixed, outside the VMs'
 * 10.86.0.10-209, and the VMs' route to the containers' 10.88.0.0/16 (images/vm/rootfs network).
 */
export const HOST_LAN_ADDRESS = '10.86.0.2';

/** The containers' subnet behind the host's bridge box0 (images/agent/container.c BRIDGE_IP). */
export const CONTAINER_SUBNET = '10.88.0.0/16';

/** The address the VM's rc script gives eth0 for this MAC: 10.86.0.(last octet % 200 + 10). */
export function vmAddressForMac(mac: string): string {
  const last = parseMac(mac)[5]!;
  return `10.86.0.${(last % 200) + 10}`;
}
