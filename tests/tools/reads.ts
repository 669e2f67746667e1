import { Machine } from '../boot/harness.ts';
const m = new Machine('vm');
let n = 0;
m.disk!.onGuestRead = (s, l) => {
  if (n++ < 25) console.log(`${m.elapsedMs().toFixed(0).padStart(5)} ms ${(m.instructions() / 1e6).toFixed(2).padStart(6)} M  read ${s / 512} +${l / 512}`);
};
m.emulator.add_listener('serial0-output-byte', (b: number) => {
  if (b === 10) console.log(`${m.elapsedMs().toFixed(0).padStart(5)} ms ${(m.instructions() / 1e6).toFixed(2).padStart(6)} M  (serial line)`);
});
await m.waitFor(/Booting the kernel/, 60000);
await m.stop();
process.exit(0);
