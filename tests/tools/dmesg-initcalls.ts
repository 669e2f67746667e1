// Boot the host with initcall_debug but a quiet console, then read the guest's own dmesg:
// which initcalls cost the most guest time, without serial printing skewing the figures.
// Addresses are named from the build tree's System.map (the kernel has no kallsyms).
//   tsx tests/tools/dmesg-initcalls.ts ["extra cmdline"]
import { readFileSync } from 'node:fs';
import { Machine, REPO, hostCmdline } from '../boot/harness.ts';
const extra = process.argv[2] ?? '';
const symbols = new Map<string, string>();
try {
  for (const line of readFileSync(`${REPO}/.cache/kernel/build-host/System.map`, 'utf8').split('\n')) {
    const [addr, , name] = line.split(' ');
    if (name) symbols.set(`0x${addr.replace(/^0+/, '')}`, name);
  }
} catch {
  console.log('(no .cache/kernel/build-host/System.map: initcalls stay addresses)');
}
const m = new Machine('host', { extra: { cmdline: `${hostCmdline()} initcall_debug ${extra}` } });
const ready = await m.waitFor(/\[stacklab\] host ready/, 90000);
console.log(`ready at ${ready.wallMs.toFixed(0)} ms, ${(ready.instructions / 1e6).toFixed(1)} M instructions`);
m.type('\n');
await new Promise((r) => setTimeout(r, 500));
const out = await m.run('dmesg | grep -E "returned"', 30000);
const rows = [...out.matchAll(/initcall (\S+) returned \S+ after (\d+) usecs/g)].map((r) => ({ fn: symbols.get(r[1]) ?? r[1], us: +r[2] }));
const total = rows.reduce((n, r) => n + r.us, 0);
rows.sort((a, b) => b.us - a.us);
console.log(`${rows.length} initcalls, ${(total / 1000).toFixed(0)} ms of guest time in all`);
for (const r of rows.slice(0, Number(process.argv[3] ?? 30))) console.log(`${String(r.us).padStart(8)} us  ${r.fn}`);
await m.stop();
process.exit(0);
