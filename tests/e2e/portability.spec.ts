// The compare page's Portability row, run as a user would: one Run boots a VM and a container host,
// moves the app's OCI archive over the page's LAN into the VM and runs it there, then boots a second
// container host cold in the page and streams host 1's `box save` bytes through the page into it
// (mux LOAD frames), where the app runs too. Checks what the row states: progress while it runs,
// the app's output printed by host 2, the figures present and measured, and a readable layout.
import { test, expect, type Page } from '@playwright/test';
import { hasContainerImages, hasImages, shot } from './helpers.ts';
import { layoutProblems } from './layout-check.ts';

test.skip(!hasImages('vm/disk.img', 'bios/seabios.bin', 'host/bzImage') || !hasContainerImages(), 'guest images not built (npm run images)');
test.use({ serviceWorkers: 'block' });

const row = (page: Page) => page.locator('article[data-experiment="portability"]');

interface Figure {
  id: string;
  side: string;
  value: number | string | boolean;
  unit: string;
}

test('portability: the app built in host 1 runs in a VM and in a second host booted cold, moved through the page', async ({ page }, info) => {
  test.setTimeout(360_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto('./?page=compare');
  await row(page).scrollIntoViewIfNeeded();
  // Every progress message the row shows, as it shows it (some last a second only).
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as any).portabilityProgress = seen;
    new MutationObserver(() => {
      const text = document.querySelector('article[data-experiment="portability"] [data-testid="progress"] span')?.textContent;
      if (text && seen.at(-1) !== text) seen.push(text);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });

  await row(page).getByTestId('run').click();
  await expect(row(page)).toHaveAttribute('data-status', 'running');
  await expect(row(page).getByTestId('progress')).toContainText('booting a VM');
  await expect(row(page).getByTestId('live-vm')).toBeVisible();
  await expect(row(page).getByTestId('live-host')).toBeVisible();
  await page.screenshot({ path: info.outputPath('portability-running-1600.png') });

  await expect(row(page)).toHaveAttribute('data-status', /done|failed/, { timeout: 300_000 });
  if ((await row(page).getAttribute('data-status')) === 'failed') throw new Error(`portability failed: ${await row(page).getByTestId('error').innerText()}`);
  expect(errors).toEqual([]);

  const progress = (await page.evaluate(() => (window as any).portabilityProgress)) as string[];
  expect(progress).toContain('booting a second container host, cold');
  expect(progress).toContain('box save (host 1) → the page → box load → box run (host 2)');

  // What the row states: the app ran in the second host, fed through the page.
  await expect(row(page).getByTestId('container-figure')).toContainText(
    /archive: saved, sent over the LAN, loaded and run in a VM in [\d.]+ s; through the page into a second host booted fresh \([\d.]+ s boot\) in [\d.]+ s/,
  );
  await expect(row(page).getByTestId('vm-figure')).toContainText(/moves its [\d.]+ MiB disk/);
  const result = (await page.evaluate(() => {
    const r = (window as any).stacklab.compare.row('portability').result;
    return { figures: r.figures, evidence: r.evidence };
  })) as { figures: Figure[]; evidence: { side: string; label: string; text: string }[] };
  const num = (id: string) => {
    const f = result.figures.find((x) => x.id === id);
    if (!f) throw new Error(`figure ${id} missing`);
    expect(typeof f.value, id).toBe('number');
    return f.value as number;
  };
  const host2 = result.evidence.find((e) => /second host/.test(e.label));
  expect(host2?.text).toMatch(/Loaded image: port-app:latest\nbuilt by box build$/);
  const archive = num('portability.archive');
  expect(archive).toBeGreaterThan(10_000);
  // Through the page: the bytes of host 1's box save answer; the same image as the file box save wrote.
  expect(num('portability.host2.archive')).toBe(archive);
  expect(num('portability.host2.boot.instructions')).toBeGreaterThan(1e7); // a whole kernel boot (~3e7 here), not a restore
  expect(num('portability.host2.boot.ms')).toBeGreaterThan(0);
  for (const id of ['toRun', 'save', 'transferOut', 'transferIn', 'load', 'run']) expect(num(`portability.host2.${id}.ms`), id).toBeGreaterThanOrEqual(0);
  expect(num('portability.host2.toRun.ms')).toBeGreaterThan(num('portability.host2.run.ms'));
  expect(num('portability.host2.instructions')).toBeGreaterThan(0);
  expect(num('portability.host1.saveInstructions')).toBeGreaterThan(0);
  // Guest instruction counts of a container host are charted as the host's, the second one's boot too.
  for (const f of result.figures.filter((x) => x.unit === 'instructions' && x.id !== 'portability.vmSide.instructions')) expect(f.side, f.id).toBe('host');
  // The VM side of the row too.
  expect(num('portability.lanBytes')).toBeGreaterThanOrEqual(archive);
  expect(num('portability.vm.diskUsed')).toBeLessThan(num('portability.vm.diskImage'));
  // Every machine it used is listed, powered off at the end (the second host included).
  await expect(row(page).getByTestId('machines').locator('button')).toHaveCount(3);
  await expect(row(page).getByTestId('machines')).toContainText('port-host2');

  for (const [width, height] of [
    [1600, 1000],
    [1280, 720],
  ] as const) {
    await page.setViewportSize({ width, height });
    await row(page).scrollIntoViewIfNeeded();
    expect(await layoutProblems(page, ['article[data-experiment="portability"]'])).toEqual([]);
    await page.screenshot({ path: info.outputPath(`portability-done-${width}.png`) });
  }
  await row(page).locator('details summary').click();
  await expect(row(page).locator('tr[data-figure="portability.host2.transferIn.ms"]')).toBeVisible();
  // The figures table (the evidence below it scrolls in its own boxes, by design).
  expect(await layoutProblems(page, ['article[data-experiment="portability"] details table'])).toEqual([]);
  await shot(page, info, 'portability-details-1280');
});
