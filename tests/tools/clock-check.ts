// Does guest time follow wall time? Run `sleep` in the guest and compare the guest's own
// uptime/monotonic clock with the host's wall clock.  tsx tests/tools/clock-check.ts host|vm
import { Machine } from '../boot/harness.ts';
import { MARKERS } from '../../src/core/markers.ts';
const kind = (process.argv[2] ?? 'host') as 'host' | 'vm';
const m = new Machine(
  kind,
  process.env.CMDLINE_EXTRA ? { extra: { cmdline: (await import('../boot/harness.ts')).hostCmdline() + ' ' + process.env.CMDLINE_EXTRA } } : {},
);
await m.waitFor(kind === 'vm' ? MARKERS.login : MARKERS.hostReady, 60_000);
m.type(kind === 'vm' ? 'root\n' : '\n');
await new Promise((r) => setTimeout(r, 1500));
for (const s of [1, 3]) {
  const t0 = performance.now();
  const out = await m.run(`cat /proc/uptime; sleep ${s}; cat /proc/uptime`);
  const wall = (performance.now() - t0) / 1000;
  const [a, b] = out.split('\n').map((l) => Number(l.split(' ')[0]));
  console.log(`sleep ${s}: host wall ${wall.toFixed(2)} s, guest uptime advanced ${(b - a).toFixed(2)} s`);
}
const t0 = performance.now();
const busy = await m.run('cat /proc/uptime; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; cat /proc/uptime');
const [a, b] = busy.split('\n').map((l) => Number(l.split(' ')[0]));
console.log(`busy loop: host wall ${((performance.now() - t0) / 1000).toFixed(2)} s, guest uptime advanced ${(b - a).toFixed(2)} s`);
console.log((await m.run('dmesg | grep -iE "clocksource|tsc"')).slice(0, 1500));
await m.stop();
process.exit(0);
