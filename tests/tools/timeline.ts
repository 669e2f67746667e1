// Print each serial line with the wall ms and guest instruction count at which it arrived:
// the quickest way to see where a boot spends its time.  tsx tests/tools/timeline.ts host|vm [extra cmdline]
import { Machine, type BootOptions } from '../boot/harness.ts';
const kind = (process.argv[2] ?? 'host') as 'host' | 'vm';
const extra = process.argv[3];
const opts: BootOptions = process.env.V86_EXTRA ? { extra: JSON.parse(process.env.V86_EXTRA) } : {};
if (extra && kind === 'host') {
  const { hostCmdline } = await import('../boot/harness.ts');
  opts.extra = { ...opts.extra, cmdline: hostCmdline() + ' ' + extra };
}
const m = new Machine(kind, opts);
let line = '';
m.emulator.add_listener('emulator-started', () =>
  console.log(`${m.elapsedMs().toFixed(0).padStart(6)} ms ${(m.instructions() / 1e6).toFixed(1).padStart(7)} M  <emulator-started>`),
);
m.emulator.add_listener('serial0-output-byte', (b: number) => {
  const c = String.fromCharCode(b);
  if (c === '\n') {
    console.log(`${m.elapsedMs().toFixed(0).padStart(6)} ms ${(m.instructions() / 1e6).toFixed(1).padStart(7)} M  ${line}`);
    line = '';
  } else if (c !== '\r') line += c;
});
const re = kind === 'vm' ? /login: ?$/m : /\[stacklab\] host ready/;
await m.waitFor(re, 60000).catch((e) => console.log(String(e).slice(0, 300)));
console.log(`${m.elapsedMs().toFixed(0).padStart(6)} ms ${(m.instructions() / 1e6).toFixed(1).padStart(7)} M  <prompt> ${line}`);
await m.stop();
process.exit(0);
