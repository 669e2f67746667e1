// Boot the host with initcall_debug but a quiet console, then read the guest's own dmesg:
// which initcalls cost the most guest time, without serial printing skewing the figures.
import { Machine, hostCmdline } from '../boot/harness.ts';
const extra = process.argv[2] ?? '';
const m = new Machine('host', { extra: { cmdline: `${hostCmdline()} initcall_debug ${extra}` } });
const ready = await m.waitFor(/\[stacklab\] host ready/, 60000);
console.log(`ready at ${ready.wallMs.toFixed(0)} ms, ${(ready.instructions / 1e6).toFixed(1)} M instructions`);
m.type('\n');
await new Promise((r) => setTimeout(r, 500));
const out = await m.run('dmesg | grep -E "returned|Run /init|Linux version|Freeing|calling  *[0-9a-fx]* @ 1$|Memory:|pid_max|devtmpfs: init|Calibrating|clocksource" ', 30000);
const rows = [...out.matchAll(/\[\s*([\d.]+)\] initcall (\S+) returned \S+ after (\d+) usecs/g)].map((r) => ({ t: +r[1], fn: r[2], us: +r[3] }));
rows.sort((a, b) => b.us - a.us);
for (const r of rows.slice(0, 25)) console.log(`${String(r.us).padStart(8)} us  at ${r.t.toFixed(3)} s  ${r.fn}`);
console.log(out.split('\n').filter((l) => !l.includes('initcall')).join('\n'));
await m.stop();
process.exit(0);
