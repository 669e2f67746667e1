// The compare page: cheap experiments run for real from their rows; figures are checked against the
// build's own manifest (never constants); a second Run while one runs is queued with a message; a
// failing experiment shows what failed on its row and the page keeps working.
import { test, expect, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { hasContainerImages, hasImages, shot } from './helpers.ts';

test.skip(!hasImages('vm/disk.img', 'bios/seabios.bin', 'host/bzImage') || !hasContainerImages(), 'guest images not built (npm run images)');
// Requests must reach page.route (a service worker would answer them from its cache).
test.use({ serviceWorkers: 'block' });

const manifest = JSON.parse(readFileSync(fileURLToPath(new URL('../../images/dist/manifest.json', import.meta.url)), 'utf8')) as {
  kernels: { host: string; vm: string };
  artifacts: { file: string; bytes: number }[];
};
const bytesOf = (file: string) => manifest.artifacts.find((a) => a.file === file)!.bytes;

/** What fits the screen (the full-page shots are for the record; these are what a class sees). */
const viewShot = (page: Page, info: import('@playwright/test').TestInfo, name: string) => page.screenshot({ path: info.outputPath(`${name}.png`) });

const row = (page: Page, id: string) => page.locator(`article[data-experiment="${id}"]`);

/** A figure of a finished row, read from the page's own state. */
async function figure(page: Page, experiment: string, id: string): Promise<unknown> {
  return page.evaluate(([e, f]) => (window as any).stacklab.compare.row(e).result?.figures.find((x: any) => x.id === f)?.value, [experiment, id] as const);
}

async function waitDone(page: Page, id: string, timeout: number) {
  await expect(row(page, id)).toHaveAttribute('data-status', /done|failed/, { timeout });
  if ((await row(page, id).getAttribute('data-status')) === 'failed') throw new Error(`${id} failed: ${await row(page, id).getByTestId('error').innerText()}`);
}

test('size and OS support run from their rows, a second Run is queued, figures match the build', async ({ page }, info) => {
  test.setTimeout(300_000);
  await page.goto('./?page=compare');
  await expect(page.getByRole('button', { name: 'Compare' })).toHaveClass(/active/);
  await expect(row(page, 'size')).toBeVisible();
  await shot(page, info, 'compare-idle');

  await row(page, 'size').getByTestId('run').click();
  await expect(row(page, 'size')).toHaveAttribute('data-status', 'running');
  await expect(row(page, 'size').getByTestId('progress')).toBeVisible();
  // A second experiment while the first runs waits, and says for what.
  await row(page, 'os').getByTestId('run').click();
  await expect(row(page, 'os')).toHaveAttribute('data-status', 'queued');
  await expect(row(page, 'os').getByTestId('queued')).toContainText('waiting for “Size”');
  await expect(page.getByTestId('queue-status')).toContainText('waiting: OS support');
  await expect(row(page, 'size').getByTestId('machines').locator('button').first()).toBeVisible({ timeout: 60_000 });
  await shot(page, info, 'compare-running-and-queued');

  await waitDone(page, 'size', 150_000);
  // Sizes are the files' own bytes (the manifest records them; the page measured them over HTTP).
  expect(await figure(page, 'size', 'vm.disk')).toBe(bytesOf('vm/disk.img'));
  expect(await figure(page, 'size', 'host.kernel')).toBe(bytesOf('host/bzImage'));
  const busybox = Number(await figure(page, 'size', 'container.image.busybox'));
  expect(busybox).toBeGreaterThan(0);
  expect(busybox).toBeLessThan(bytesOf('vm/disk.img'));
  // The VM really booted from its lazily read disk: some of it was fetched, not all.
  const share = Number(await figure(page, 'size', 'vm.fetchedShare'));
  expect(share).toBeGreaterThan(1);
  expect(share).toBeLessThan(100);
  await expect(row(page, 'size').getByTestId('vm-figure')).toContainText(/MiB disk/);
  await expect(row(page, 'size').getByTestId('bar-chart').first()).toBeVisible();

  // The queued one started by itself.
  await waitDone(page, 'os', 150_000);
  expect(await figure(page, 'os', 'vm.kernel')).toBe(manifest.kernels.vm);
  expect(await figure(page, 'os', 'host.kernel')).toBe(manifest.kernels.host);
  expect(await figure(page, 'os', 'container.kernelIsHost')).toBe(true);
  expect(await figure(page, 'os', 'container.amd64Refused')).toBe(true);
  await expect(row(page, 'os').getByTestId('vm-figure')).toContainText(manifest.kernels.vm);

  // A machine's console is one click away.
  await row(page, 'os').getByTestId('machines').locator('button.vm').first().click();
  await expect(page.getByTestId('terminal-drawer')).toBeVisible();
  await expect(page.getByTestId('terminal-drawer').locator('.xterm-rows')).toContainText(/uname|login/);
  await shot(page, info, 'compare-terminal');
  await page.getByTestId('terminal-drawer').getByRole('button', { name: 'Close' }).click();

  // Export: one CSV line per figure, the same values.
  const download = page.waitForEvent('download');
  await page.getByTestId('export-csv').click();
  const csv = readFileSync(await (await download).path(), 'utf8');
  expect(csv).toContain(`size,vm.disk,vm,`);
  expect(csv).toMatch(new RegExp(`^size,vm\\.disk,vm,[^\\n]*,${bytesOf('vm/disk.img')},bytes,`, 'm'));

  await viewShot(page, info, 'compare-view-1600');
  await row(page, 'os').scrollIntoViewIfNeeded();
  await viewShot(page, info, 'compare-view-os-1600');
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await viewShot(page, info, 'compare-view-1280');
  await row(page, 'size').locator('details summary').click();
  await shot(page, info, 'compare-done-1280');
});

test('a failing experiment shows what failed on its row; the page keeps working', async ({ page }, info) => {
  test.setTimeout(300_000);
  await page.goto('./?page=compare');
  // The VM disk cannot be fetched: its boot fails, and says so.
  await page.route(/\/images\/vm\/disk\.img\.chunks\//, (route) => route.abort());
  await page.route(/\/images\/vm\/disk\.img$/, (route) => (route.request().method() === 'HEAD' ? route.continue() : route.abort()));
  await row(page, 'size').getByTestId('run').click();
  await expect(row(page, 'size')).toHaveAttribute('data-status', 'failed', { timeout: 90_000 });
  await expect(row(page, 'size').getByTestId('error')).toContainText(/disk/i);
  await shot(page, info, 'compare-failed');

  // Another experiment still runs.
  await page.unrouteAll();
  await row(page, 'hybrid').getByTestId('run').click();
  await waitDone(page, 'hybrid', 150_000); // boots a VM and the container host on the page's LAN
  expect(await figure(page, 'hybrid', 'host.kernel')).toBe(manifest.kernels.host);
  expect(Number(await figure(page, 'hybrid', 'hybrid.rtt.median'))).toBeGreaterThan(0);
  // Docker in a VM, measured in the page: a container started inside the VM (boxd on its disk).
  expect(Number(await figure(page, 'hybrid', 'hybrid.vmContainer.startMs'))).toBeGreaterThan(0);
  await expect(row(page, 'size')).toHaveAttribute('data-status', 'failed');

  // Stop: the running experiment ends and its machines are powered off.
  await row(page, 'boot').getByTestId('run').click();
  await expect(row(page, 'boot').getByTestId('live-vm')).toBeVisible({ timeout: 60_000 });
  await row(page, 'boot').getByTestId('cancel').click();
  await expect(row(page, 'boot')).toHaveAttribute('data-status', 'stopped', { timeout: 30_000 });
  await expect(row(page, 'boot').getByTestId('machines').locator('button[data-state="off"]')).toHaveCount(1, { timeout: 30_000 });
  await expect(page.getByTestId('stop-all')).toBeDisabled();
});
