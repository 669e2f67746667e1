// Poor man's kernel profiler: sample the guest EIP between two serial markers across several
// boots and map samples to kernel symbols (System.map from the build tree).
// tsx tests/tools/kprof.ts host|vm [boots]
import { readFileSync } from 'node:fs';
import { Machine, REPO } from '../boot/harness.ts';
const kind = (process.argv[2] ?? 'host') as 'vm' | 'host';
const boots = Number(process.argv[3] ?? 5);
const map = readFileSync(`${REPO}/.cache/kernel/build-${kind}/System.map`, 'utf8')
  .split('\n')
  .map((l) => l.split(' '))
  .filter((p) => p.length === 3 && /[tT]/.test(p[1]))
  .map((p) => [parseInt(p[0], 16), p[2]] as const)
  .sort((a, b) => a[0] - b[0]);
const sym = (a: number) => {
  let lo = 0,
    hi = map.length - 1;
  if (a < map[0][0]) return '(user/bios)';
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (map[mid][0] <= a) lo = mid;
    else hi = mid - 1;
  }
  return a > map[map.length - 1][0] + 0x100000 ? '(user/bios)' : map[lo][1];
};
const hist = new Map<string, number>();
let total = 0,
  halted = 0;
for (let b = 0; b < boots; b++) {
  const m = new Machine(kind);
  await m.started;
  const cpu = m.emulator.v86.cpu;
  let on = false;
  m.waitFor(/Linux version/, 60000).then(() => (on = true));
  const t = setInterval(() => {
    if (!on) return;
    total++;
    if (cpu.in_hlt[0]) {
      halted++;
      hist.set('(halted)', (hist.get('(halted)') ?? 0) + 1);
      return;
    }
    const s = sym((cpu.get_seg_cs() + cpu.get_real_eip()) >>> 0);
    hist.set(s, (hist.get(s) ?? 0) + 1);
  }, 0);
  await m.waitFor(/\[stacklab\] init/, 60000);
  clearInterval(t);
  await m.stop();
}
console.log(`${total} samples over ${boots} boots (Linux version → init), halted ${halted}`);
for (const [k, n] of [...hist].sort((a, b) => b[1] - a[1]).slice(0, 30))
  console.log(`${String(n).padStart(5)} ${((100 * n) / total).toFixed(1).padStart(5)}%  ${k}`);
process.exit(0);
