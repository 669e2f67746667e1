// Boot the container host once and print guest instructions (M) and wall ms at every serial line
// that starts with "[stacklab]" or "@@" (put temporary `echo "@@…"` lines in init to split a stage).
//   tsx tests/tools/serial-steps.ts ["cmdline extra"]
import { Machine, hostCmdline } from '../boot/harness.ts';
const m = new Machine('host', { extra: { cmdline: `${hostCmdline()} ${process.argv[2] ?? ''}` } });
let line = '';
let last = 0;
m.emulator.add_listener('serial0-output-byte', (b: number) => {
  if (b !== 10) return void (line += String.fromCharCode(b));
  const t = line.trim();
  line = '';
  if (!process.env.ALL && !/^(\[stacklab\]|@@|Linux version)/.test(t)) return;
  const n = m.instructions() / 1e6;
  console.log(`${n.toFixed(2).padStart(7)} M  +${(n - last).toFixed(2).padStart(6)}  ${m.elapsedMs().toFixed(0).padStart(6)} ms  ${t.slice(0, 70)}`);
  last = n;
});
await m.waitFor(/\[stacklab\] host ready/, 90_000);
await new Promise((r) => setTimeout(r, 300));
await m.stop();
process.exit(0);
