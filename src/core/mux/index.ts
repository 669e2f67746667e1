// The box mux (PROTOCOL.md): frame codec, payloads, the host end, and its v86 transport.
export * from './frames.ts';
export * from './payloads.ts';
export * from './host.ts';
export * from './v86-port.ts';
