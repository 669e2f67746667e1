// The page's LAN: frame checks, a learning switch, and cables to v86 NICs (in-process or over a MessagePort).
export * from './frame.ts';
export * from './switch.ts';
export * from './v86-nic.ts';
export * from './link.ts';
