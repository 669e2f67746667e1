// Sample the guest's instruction pointer during the first part of a boot: which code runs,
// and whether the CPU is busy or halted. tsx tests/tools/sample-eip.ts vm|host [until-regex]
import { Machine } from '../boot/harness.ts';
const kind = (process.argv[2] ?? 'vm') as 'vm' | 'host';
const until = new RegExp(process.argv[3] ?? 'SYSLINUX');
const m = new Machine(kind);
await m.started;
const cpu = m.emulator.v86.cpu;
const hist = new Map<string, number>();
let halted = 0,
  total = 0;
const timer = setInterval(() => {
  total++;
  if (cpu.in_hlt[0]) halted++;
  const lin = (cpu.get_seg_cs() + cpu.get_real_eip()) >>> 0;
  const key = (lin & ~0xff).toString(16);
  hist.set(key, (hist.get(key) ?? 0) + 1);
}, 1);
const mark = await m.waitFor(until, 60000);
clearInterval(timer);
console.log(`until ${until}: ${mark.wallMs.toFixed(0)} ms, ${(mark.instructions / 1e6).toFixed(1)} M instr; ${total} samples, halted in ${halted}`);
for (const [k, n] of [...hist].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  0x${k.padStart(8, '0')}  ${n}`);
await m.stop();
process.exit(0);
