// Where a load's guest instructions go: sample the container host's EIP (1 ms timer) while
// `box load -i` reads an archive from disk and while MuxHost.load streams the same archive over
// the box mux, and map samples to kernel symbols (System.map of the host kernel build) or "(user)".
// tsx tests/tools/load-prof.ts [runs]
import { readFileSync } from 'node:fs';
import { boot, shStatus, REPO } from '../boot/harness.ts';
import { MARKERS } from '../../src/core/markers.ts';
import { v86VirtioPort } from '../../src/core/mux/v86-port.ts';

const runs = Number(process.argv[2] ?? 3);
const cache = process.env.STACKLAB_CACHE ?? `${REPO}/.cache`;
const map = readFileSync(`${cache}/kernel/build-host/System.map`, 'utf8')
  .split('\n')
  .map((l) => l.split(' '))
  .filter((p) => p.length === 3 && /[tT]/.test(p[1]!))
  .map((p) => [parseInt(p[0]!, 16), p[2]!] as const)
  .sort((a, b) => a[0] - b[0]);
const sym = (a: number) => {
  if (a < map[0]![0]) return '(user)';
  let lo = 0;
  let hi = map.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (map[mid]![0] <= a) lo = mid;
    else hi = mid - 1;
  }
  return map[lo]![1];
};

const m = await boot('host');
const port = v86VirtioPort(m.emulator, 1);
await m.waitFor(MARKERS.hostReady, 120_000, 'host ready');
m.type('\n');
await m.waitFor(/# $/m, 20_000, 'host shell');
await port.host.ready;
await shStatus(m, 'box build -t port-app /root/example-app >/dev/null', 300_000);
const archive = (await port.host.cmdBytes(['save', 'port-app'], 120_000)).bytes;
await shStatus(m, 'box save port-app -o /tmp/app.tar');
const cpu = m.emulator.v86.cpu;

async function profile(what: string, body: () => Promise<unknown>) {
  const hist = new Map<string, number>();
  let total = 0;
  const t = setInterval(() => {
    total++;
    const s = cpu.in_hlt[0] ? '(halted)' : sym((cpu.get_seg_cs() + cpu.get_real_eip()) >>> 0);
    hist.set(s, (hist.get(s) ?? 0) + 1);
  }, 1);
  const i0 = m.instructions();
  for (let i = 0; i < runs; i++) await body();
  clearInterval(t);
  console.log(`\n${what}: ${((m.instructions() - i0) / runs / 1e6).toFixed(1)} M instructions per load; ${total} samples`);
  for (const [k, n] of [...hist].sort((a, b) => b[1] - a[1]).slice(0, 30))
    console.log(`${String(n).padStart(6)} ${((100 * n) / total).toFixed(1).padStart(5)}%  ${k}`);
}
await profile('box load -i (disk)', () => shStatus(m, 'box load -i /tmp/app.tar'));
await profile('MuxHost.load', () => port.host.load(archive, { name: 'app.tar' }).done);
port.close();
await m.stop();
process.exit(0);
