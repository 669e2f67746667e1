// v86 in a worker vs on the main thread (issue #219 in v86 says workers can be slower): the same
// VM boot to login:, alternating variants, medians printed. A measurement, not a gate: run with
//   STACKLAB_BENCH=1 npx playwright test speed
import { test, expect } from '@playwright/test';
import { hasImages } from './helpers.ts';

test.skip(!process.env.STACKLAB_BENCH, 'set STACKLAB_BENCH=1 to run the speed comparison');
test.skip(!hasImages('vm/disk.img', 'bios/seabios.bin'), 'guest images not built');

const VARIANTS = [
  { where: 'main', scheduler: 'v86' },
  { where: 'worker', scheduler: 'v86' },
  { where: 'worker', scheduler: 'channel' },
  { where: 'main', scheduler: 'channel' },
];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

test('worker vs main thread: VM boot to login', async ({ page }) => {
  const rounds = Number(process.env.STACKLAB_BENCH_ROUNDS ?? 3);
  test.setTimeout(rounds * VARIANTS.length * 60_000);
  const results: Record<string, { wallMs: number; mips: number }[]> = {};
  for (let r = 0; r < rounds; r++) {
    for (const v of VARIANTS) {
      await page.goto(`./bench.html?where=${v.where}&scheduler=${v.scheduler}&kind=${process.env.STACKLAB_BENCH_KIND ?? 'vm'}`);
      await expect.poll(() => page.evaluate(() => (window as any).benchResult), { timeout: 60_000 }).toBeTruthy();
      const res = await page.evaluate(() => (window as any).benchResult);
      expect(res.error).toBeUndefined();
      (results[`${v.where}/${v.scheduler}`] ??= []).push(res);
    }
  }
  for (const [name, rs] of Object.entries(results)) {
    console.log(
      `${name.padEnd(16)} median ${median(rs.map((x) => x.wallMs)).toFixed(0)} ms, ${median(rs.map((x) => x.mips)).toFixed(1)} MIPS  (${rs.map((x) => x.wallMs.toFixed(0)).join(', ')})`,
    );
  }
});
