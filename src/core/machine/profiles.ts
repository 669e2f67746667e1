/**
 * Machine profiles: what each kind of machine is (memory, devices, boot media), and how a profile
 * plus resolved artifact bytes/URLs becomes a v86 options object. Used by the browser worker and Node.
 */
import { ARTIFACTS } from '../artifacts.ts';
import { BOOT_JIT_OPTIONS } from './jit.ts';

export type MachineKind = 'vm' | 'host';

/**
 * The container host's kernel command line when `images/dist/host/cmdline.txt` cannot be read.
 * The image build writes the authoritative one there (images/host/cmdline.txt); keep this in step.
 */
export const HOST_CMDLINE =
  'console=ttyS0,115200 earlyprintk=ttyS0,115200 loglevel=3 tsc=reliable 8250.nr_uarts=1 rcupdate.rcu_expedited=1 init_on_free=1 pci=conf1 rdinit=/init';

export interface Profile {
  kind: MachineKind;
  title: string;
  memoryMb: number;
  /** Artifacts fetched whole before power-on. */
  preload: readonly (keyof typeof ARTIFACTS)[];
  /** The one-sentence story of how it boots, for cards and tables. */
  story: string;
}

export const PROFILES: Readonly<Record<MachineKind, Profile>> = {
  vm: {
    kind: 'vm',
    title: 'Virtual machine',
    memoryMb: 64,
    preload: ['seabios', 'vgabios'],
    story: 'A whole PC: firmware, bootloader and its own Linux 6.1 kernel from a disk image',
  },
  host: {
    kind: 'host',
    title: 'Container host',
    memoryMb: 128,
    // Headless, as a Docker host is: no VGA BIOS. Without one SeaBIOS skips video set-up and the
    // kernel's option-ROM scan has no 40 KB ROM to checksum byte by byte (2.3 M guest instructions).
    preload: ['seabios', 'hostKernel', 'hostInitrd'],
    story: 'One Linux 6.12 kernel that all containers share',
  },
};

export type NetworkRequest = { type: 'ne2k' | 'virtio' } | undefined;

/** A v86 "loadable" buffer (get/set/load), like src/core/lazy-disk.ts. */
export interface V86Loadable {
  get(start: number, length: number, fn: (data: Uint8Array) => void): void;
  set(start: number, data: Uint8Array, fn: () => void): void;
  load(): void;
  byteLength: number;
}

export interface ResolvedMedia {
  wasmUrl: string;
  bios: ArrayBuffer;
  /** VM only: the host is headless. */
  vgaBios?: ArrayBuffer;
  /** VM: its disk; host: its image store disk. Both fetched lazily. */
  disk?: V86Loadable;
  /** Host: kernel, initrd, command line. */
  kernel?: ArrayBuffer;
  initrd?: ArrayBuffer;
  cmdline?: string;
}

export interface OptionsRequest {
  kind: MachineKind;
  memoryMb?: number;
  network?: NetworkRequest;
}

/** v86 options for a machine. Plain data plus buffers, so it is the same in a worker and in Node. */
export function v86Options(req: OptionsRequest, media: ResolvedMedia): Record<string, unknown> {
  const profile = PROFILES[req.kind];
  const memoryMb = req.memoryMb ?? profile.memoryMb;
  if (!Number.isInteger(memoryMb) || memoryMb < 16 || memoryMb > 1024 || (memoryMb & (memoryMb - 1)) !== 0)
    throw new Error(`memory must be a power of two between 16 and 1024 MiB, got ${memoryMb}`);
  const common: Record<string, unknown> = {
    wasm_path: media.wasmUrl,
    memory_size: memoryMb << 20,
    vga_memory_size: 2 << 20,
    bios: { buffer: media.bios },
    ...(media.vgaBios ? { vga_bios: { buffer: media.vgaBios } } : {}),
    autostart: false,
    disable_keyboard: true,
    disable_mouse: true,
    disable_speaker: true,
    // Boots interpreted; the runtime turns the JIT on at the last boot phase (./jit.ts says why).
    ...BOOT_JIT_OPTIONS,
    // The NIC type when asked for (v86 gives an NE2000 otherwise). No relay_url: v86's 'inbrowser'
    // relay is a BroadcastChannel every tab of the origin joins; the page's LAN (src/core/lan) is
    // plugged in by the worker instead.
    ...(req.network ? { net_device: { type: req.network.type } } : {}),
  };
  if (req.kind === 'vm') {
    if (!media.disk) throw new Error('a VM needs its disk image');
    // HARDDISK first: SeaBIOS boots the MBR without trying CD or floppy. A second UART (COM2, the
    // guest's ttyS1) carries lesson checks to the VM's agent, away from the student's console.
    return { ...common, hda: media.disk, boot_order: 0x132, uart1: true };
  }
  if (!media.kernel || !media.initrd) throw new Error('the container host needs its kernel and initramfs');
  return {
    ...common,
    // The image store (OCI layout + pulled layers) as the IDE master; the kernel itself comes from
    // bzimage/initrd, so the BIOS never boots from this disk. A host without it still boots.
    ...(media.disk ? { hda: media.disk } : {}),
    bzimage: { buffer: media.kernel },
    initrd: { buffer: media.initrd },
    cmdline: media.cmdline?.trim() || HOST_CMDLINE,
    virtio_console: true,
  };
}
