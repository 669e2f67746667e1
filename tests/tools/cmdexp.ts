// Boot the container host once per command-line variant and print guest instructions (M) and wall
// ms at each serial landmark: what a cmdline change buys, without rebuilding anything.
//   tsx tests/tools/cmdexp.ts '{"base":"$BASE","variant":"$BASE init_on_free=0"}'
import { Machine, hostCmdline } from '../boot/harness.ts';
const variants: Record<string, string> = JSON.parse(process.argv[2] ?? '{"base":"$BASE"}');
const LANDMARKS: [string, RegExp][] = [
  ['stub', /early console in extract_kernel|Decompressing Linux/],
  ['booting', /Booting the kernel/],
  ['init', /\[stacklab\] init/],
  ['boxd', /\[stacklab\] boxd/],
  ['ready', /\[stacklab\] host ready/],
];
for (const [name, cmd] of Object.entries(variants)) {
  const m = new Machine('host', { extra: { cmdline: cmd.replace('$BASE', hostCmdline()) } });
  const marks = await Promise.all(LANDMARKS.map(([n, re]) => m.waitFor(re, 90_000, n).catch(() => undefined)));
  console.log(
    `${name.padEnd(18)} ` +
      LANDMARKS.map(([n], i) => `${n} ${marks[i] ? `${(marks[i]!.instructions / 1e6).toFixed(1)}M/${marks[i]!.wallMs.toFixed(0)}ms` : '-'}`).join(' | '),
  );
  await m.stop();
}
process.exit(0);
