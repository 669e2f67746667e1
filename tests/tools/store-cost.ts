// What the image store disk costs a host boot: host ready with and without its IDE disk, alternating.
import { Machine } from '../boot/harness.ts';
import { MARKERS } from '../../src/core/markers.ts';
for (let i = 0; i < Number(process.argv[2] ?? 2); i++) {
  for (const [name, extra] of [
    ['with store', {}],
    ['no store', { hda: undefined }],
  ] as const) {
    const m = new Machine('host', { extra });
    const r = await m.waitFor(MARKERS.hostReady, 90_000);
    console.log(`${name.padEnd(11)} ready ${r.wallMs.toFixed(0)} ms, ${(r.instructions / 1e6).toFixed(2)} M`);
    await m.stop();
  }
}
process.exit(0);
