// Download faults, in a real browser: an artifact that 404s and artifacts whose bytes were altered
// on the way (route.fulfill) must each give a clear error on the affected cards within 2 s of the
// fault, never a hang, while the other machines boot to the end. The service worker is blocked so
// every request reaches the network (and these routes).
import { test, expect, type Page, type Route } from '@playwright/test';
import { cpus, loadavg } from 'node:os';
import { card, hasContainerImages, hasImages, shot } from './helpers.ts';

test.skip(!hasImages('vm/disk.img', 'host/bzImage', 'host/initramfs.cpio', 'bios/seabios.bin'), 'guest images not built (npm run images)');
test.use({ serviceWorkers: 'block' });
// Each test boots a few machines; on a loaded 2-core box one boot can take a minute.
test.setTimeout(240_000);
const BOOT_MS = 150_000;

/**
 * The target: a clear error within 2 s of the fault. Wall-clock figures mean little when other
 * processes hold the CPUs (the repo's convention, see race.spec.ts): then only a hang fails the test.
 */
const overloaded = loadavg()[0] > cpus().length;
const ERROR_BUDGET_MS = overloaded ? 10_000 : 2000;
test.beforeAll(() => {
  if (overloaded) console.log(`load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores: error-time gate widened from 2 s to 10 s`);
});

/**
 * When each card's error first appeared, by the page's own clock (Date.now(), the same clock as the
 * test's on this machine), checked every 10 ms in the page so the figure does not depend on how
 * often Playwright polls.
 */
async function watchErrors(page: Page) {
  await page.addInitScript(() => {
    const seen: Record<string, number> = ((window as any).__errorSeenAt = {});
    setInterval(() => {
      for (const el of document.querySelectorAll('article[data-machine] [data-testid="error"]')) {
        const id = el.closest('article')!.getAttribute('data-machine')!;
        seen[id] ??= Date.now();
      }
    }, 10);
  });
}

async function errorShownAt(page: Page, id: string, text: RegExp): Promise<number> {
  await expect(card(page, id).getByTestId('error')).toContainText(text, { timeout: 60_000 });
  return page.evaluate((id) => (window as any).__errorSeenAt[id] as number, id);
}

/** Load the setup and press Start; returns when Start was pressed. */
async function start(page: Page, setup: string): Promise<number> {
  await page.goto(`./${setup}`);
  await expect(page.getByTestId('start')).toBeVisible();
  const at = Date.now();
  await page.getByTestId('start').click();
  return at;
}

/** Fulfil with the real response's bytes, one byte flipped in the middle. */
async function fulfilAltered(route: Route): Promise<number> {
  const res = await route.fetch();
  const body = Buffer.from(await res.body());
  body[body.length >> 1] ^= 0xff;
  const at = Date.now();
  await route.fulfill({ response: res, body });
  return at;
}

test('a host kernel that 404s: the host and its containers fail clearly, the VMs finish', async ({ page, context }, info) => {
  let servedAt: number | undefined;
  await context.route('**/images/host/bzImage', async (route) => {
    servedAt ??= Date.now();
    await route.fulfill({ status: 404, contentType: 'text/plain', body: 'not found' });
  });
  await watchErrors(page);
  const containers = hasContainerImages() ? 1 : 0;
  const clickedAt = await start(page, `?vms=2&containers=${containers}`);
  const shownAt = await errorShownAt(page, 'host', /host kernel not found: HTTP 404 for bzImage/);
  const ms = shownAt - servedAt!;
  console.log(`404 on host/bzImage: error on the host card ${ms} ms after the 404 was served (${shownAt - clickedAt} ms after Start)`);
  expect(ms).toBeLessThan(ERROR_BUDGET_MS);
  for (const id of ['vm1', 'vm2']) await expect(card(page, id).getByTestId('flag')).toBeVisible({ timeout: BOOT_MS });
  await expect(card(page, 'host').getByTestId('flag')).toHaveCount(0);
  await shot(page, info, 'kernel-404');
});

test('a disk chunk with altered bytes: the VMs report the damage, the container host finishes', async ({ page, context }, info) => {
  // Alter one chunk the boot needs after the first (read at load): the third distinct one asked for.
  const seen: string[] = [];
  let victim: string | undefined;
  // Each VM's worker fetches the chunk once (its reads then wait on it): the n-th altered response
  // went to the VM whose card shows the error n-th.
  const servedAt: number[] = [];
  await context.route('**/images/vm/disk.img.chunks/*.bin', async (route) => {
    const name = route.request().url().split('/').pop()!;
    if (!seen.includes(name)) seen.push(name);
    if (!victim && seen.length === 3) victim = name;
    if (name !== victim) return route.continue();
    servedAt.push(await fulfilAltered(route));
  });
  await watchErrors(page);
  const containers = hasContainerImages() ? 1 : 0;
  await start(page, `?vms=2&containers=${containers}`);
  const damaged = /disk image is damaged: chunk \d+ of disk\.img does not match the sha256/;
  const shown = [await errorShownAt(page, 'vm1', damaged), await errorShownAt(page, 'vm2', damaged)].sort((a, b) => a - b);
  expect(servedAt.length).toBeGreaterThanOrEqual(2);
  const ms = shown.map((t, i) => t - servedAt[i]);
  console.log(
    `altered disk chunk ${victim!.slice(0, 12)}… (${servedAt.length} altered responses): errors ${ms.join(' ms, ')} ms after the altered bytes were served`,
  );
  for (const x of ms) expect(x).toBeLessThan(ERROR_BUDGET_MS);
  for (const id of ['host', ...(containers ? ['c1'] : [])]) await expect(card(page, id).getByTestId('flag')).toBeVisible({ timeout: BOOT_MS });
  for (const id of ['vm1', 'vm2']) await expect(card(page, id).getByTestId('flag')).toHaveCount(0);
  await shot(page, info, 'disk-chunk-altered');
});

test('an altered host initramfs fails its sha256: the host fails clearly, the VM finishes', async ({ page, context }, info) => {
  let servedAt: number | undefined;
  await context.route('**/images/host/initramfs.cpio', async (route) => {
    // Every request gets the altered bytes (a request left unanswered would hang the host instead).
    const at = await fulfilAltered(route);
    servedAt ??= at;
  });
  await watchErrors(page);
  // One container so the race has a container host (without OCI images its start fails anyway).
  await start(page, '?vms=1&containers=1');
  const ms = (await errorShownAt(page, 'host', /host initramfs is damaged: initramfs\.cpio does not match the sha256/)) - servedAt!;
  console.log(`altered host/initramfs.cpio: error on the host card ${ms} ms after the altered bytes were served`);
  expect(ms).toBeLessThan(ERROR_BUDGET_MS);
  await expect(card(page, 'vm1').getByTestId('flag')).toBeVisible({ timeout: BOOT_MS });
  await shot(page, info, 'initramfs-altered');
});

test('an altered host image store: the host card names the chunk, the host still boots to its shell, the VM finishes', async ({ page, context }, info) => {
  let altered = 0;
  await context.route('**/images/host/store.img.chunks/*.bin', async (route) => {
    await fulfilAltered(route);
    altered++;
  });
  await start(page, '?vms=1&containers=1&mode=cold');
  // Not fatal: the store is not what the host boots from. The guest reads zeros instead.
  await expect(card(page, 'host').getByTestId('warning')).toContainText(/image store is damaged: chunk \d+ of store\.img does not match the sha256/, {
    timeout: 60_000,
  });
  await expect(card(page, 'host').getByTestId('error')).toHaveCount(0);
  await expect(card(page, 'host').getByTestId('flag')).toBeVisible({ timeout: BOOT_MS });
  await expect(card(page, 'vm1').getByTestId('flag')).toBeVisible({ timeout: BOOT_MS });
  expect(altered).toBeGreaterThan(0);
  await shot(page, info, 'store-altered');
});
