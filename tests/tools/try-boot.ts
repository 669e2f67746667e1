import { boot, type GuestKind } from '../boot/harness.ts';
const kind = (process.argv[2] ?? 'host') as GuestKind;
const m = await boot(kind);
const re = kind === 'vm' ? /login: ?$/m : /\[stacklab\] host ready/;
try {
  const mark = await m.waitFor(re, Number(process.argv[3] ?? 60000));
  console.log('READY', mark);
  m.type(kind === 'vm' ? 'root\n' : '\n');
  await new Promise((r) => setTimeout(r, 1500));
  for (const c of (process.argv[4] ?? 'uname -r').split(';;')) console.log(JSON.stringify(await m.run(c)));
} catch (e) {
  console.log(String(e));
}
console.log('--- serial ---\n' + m.serial);
await m.stop();
process.exit(0);
