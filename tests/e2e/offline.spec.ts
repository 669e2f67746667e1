// Hosting and offline, in a real browser: dist/ served by a plain static server (no Range requests,
// headers taken from the emitted _headers file), checked under its CSP, then the same lab booted
// again with the network off and the server gone, from the service worker's cache; and a new
// build announced by the banner, applied only when the user asks.
import { test, expect, type Page } from '@playwright/test';
import { card, hasContainerImages, hasImages, shot } from './helpers.ts';
import { StaticHost, watchCsp } from './static-host.ts';

// playwright.config.ts blocks service workers for every other test.
test.use({ serviceWorkers: 'allow' });

test.skip(!hasImages('vm/disk.img', 'host/bzImage', 'host/initramfs.cpio', 'bios/seabios.bin'), 'guest images not built (npm run images)');

/** On a loaded 2-core box one boot can take a minute. */
const BOOT_MS = 150_000;

async function offlineCopyReady(page: Page) {
  await expect(page.getByTestId('offline-status')).toHaveText('Works offline', { timeout: 90_000 });
  return page.evaluate(async () => {
    const reg = await navigator.serviceWorker.ready;
    const names = await caches.keys();
    const cache = await caches.open(names.find((n) => n.startsWith('stacklab-'))!);
    return { state: reg.active?.state, entries: (await cache.keys()).length, cache: names.join(',') };
  });
}

const swVersion = (page: Page) =>
  page.evaluate(
    () =>
      new Promise<string>((resolve) => {
        const ch = new MessageChannel();
        ch.port1.onmessage = (e) => resolve(e.data.version);
        navigator.serviceWorker.controller!.postMessage({ type: 'version' }, [ch.port2]);
      }),
  );

let host: StaticHost;
test.beforeEach(async () => {
  host = new StaticHost();
  await host.start();
});
test.afterEach(async () => host.stop());

test('a plain static host with the shipped headers: no CSP violation, no Range request; then offline from the cache', async ({ page, context }, info) => {
  test.setTimeout(400_000);
  const csp = watchCsp(page);
  const containers = hasContainerImages() ? 1 : 0;
  const ids = ['vm1', 'host', ...(containers ? ['c1'] : [])];
  const setup = `?vms=1&containers=${containers}&autostart=1`;

  const doc = await page.goto(host.url + setup);
  expect(doc!.headers()['content-security-policy']).toContain("'wasm-unsafe-eval'");
  expect(doc!.headers()['content-security-policy']).not.toContain("'unsafe-eval'");
  for (const id of ids) await expect(card(page, id).getByTestId('flag')).toBeVisible({ timeout: BOOT_MS });
  const chunkRequests = host.requests.filter((r) => r.path.includes('/disk.img.chunks/')).length;
  expect(chunkRequests, 'the VM disk comes as chunk files').toBeGreaterThan(0);
  expect(
    host.requests.filter((r) => r.range),
    'Range requests',
  ).toEqual([]);
  expect(
    host.requests.some((r) => r.path === '/images/vm/disk.img'),
    'the whole disk is never fetched',
  ).toBe(false);

  const t0 = Date.now();
  const copy = await offlineCopyReady(page);
  console.log(
    `offline copy: ${copy.entries} files in ${copy.cache}, ready ${Date.now() - t0} ms after the first race finished; ${chunkRequests} disk chunk requests, 0 Range requests`,
  );
  expect(copy.state).toBe('activated');
  await shot(page, info, 'online-first-visit');

  // Offline, and the host gone too: everything must come from the service worker's cache.
  await context.setOffline(true);
  await host.stop();
  const before = host.requests.length;
  // The page keeps its setup in the URL (autostart is dropped once started): reload and press Start.
  await page.reload();
  await page.getByTestId('start').click();
  for (const id of ids) await expect(card(page, id).getByTestId('flag')).toBeVisible({ timeout: BOOT_MS });
  expect(await page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);
  expect(host.requests.length).toBe(before);
  const figures = await page.evaluate(() => (window as any).stacklab.race.results().map((r: any) => `${r.id} ${Math.round(r.bootMs)} ms`));
  console.log(`offline race: ${figures.join(', ')}`);
  await shot(page, info, 'offline-race');
  expect(csp, 'CSP violations').toEqual([]);
});

test('a new build is announced, never forced mid-race, and applied when the user clicks', async ({ page }, info) => {
  test.setTimeout(240_000);
  await page.goto(host.url + '?vms=1&containers=0&autostart=1');
  await offlineCopyReady(page);
  // The page that saved the copy is not controlled yet; the next load is.
  await page.goto(host.url + '?vms=1&containers=0&autostart=1');
  const first = await swVersion(page);
  await expect(card(page, 'vm1').getByTestId('flag')).toBeVisible({ timeout: BOOT_MS });
  await page.evaluate(() => ((window as any).__samePage = true));

  // Publish a "new build" (same files, another version) and let the browser find it.
  host.swPatch = (s) => s.replace(`"version":"${first}"`, `"version":"${first}-next"`);
  await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())!.update());
  await expect(page.getByTestId('update-banner')).toBeVisible({ timeout: 60_000 });
  await page.waitForTimeout(1000);
  // Announced only: same page, the machine still up, the old build still in control.
  expect(await page.evaluate(() => (window as any).__samePage)).toBe(true);
  await expect(card(page, 'vm1').getByTestId('flag')).toBeVisible();
  expect(await swVersion(page)).toBe(first);
  await shot(page, info, 'update-banner');

  await page.getByRole('button', { name: 'Reload to update' }).click();
  const samePage = () => page.evaluate(() => (window as any).__samePage ?? false).catch(() => 'navigating');
  await expect.poll(samePage, { timeout: 30_000 }).toBe(false);
  await expect.poll(() => swVersion(page), { timeout: 30_000 }).toBe(`${first}-next`);
  await expect(page.getByTestId('update-banner')).toHaveCount(0);
});
