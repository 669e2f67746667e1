/**
 * Console lines the guests print at each boot stage. The images' init scripts print the
 * `[stacklab]` lines on purpose so boot phases can be read off the serial log; the others
 * are printed by the real firmware, bootloader and kernel decompressor.
 *
 * VM (serial ttyS0):   power-on → SeaBIOS → SYSLINUX banner → kernel decompressor → init → services → login:
 * Host (serial ttyS0): power-on → SeaBIOS → kernel decompressor → init → boxd → host ready (root shell)
 */
export const MARKERS = {
  /** SYSLINUX prints its banner on serial once it runs (configured with `SERIAL 0 115200`). */
  bootloader: /SYSLINUX \d/,
  /** The kernel's setup/decompressor stub prints this on the early serial console. */
  kernel: /early console in extract_kernel|Decompressing Linux|Booting the kernel|Linux version/,
  /** First line printed by the guest's rcS / host init: PID 1 is running. */
  init: /\[stacklab\] init/,
  /** VM: rc is starting daemons (syslogd, klogd, crond, httpd, network). */
  services: /\[stacklab\] services/,
  /** VM: getty's prompt. */
  login: /login: ?$/m,
  /** Host: boxd is being started. */
  boxd: /\[stacklab\] boxd/,
  /** Host: boxd answered and the root shell is up. */
  hostReady: /\[stacklab\] host ready/,
  /** Any kernel panic, for the "kernel panic" card state. */
  panic: /Kernel panic - not syncing/,
} as const;

export type MarkerName = keyof typeof MARKERS;
