// Nothing lost on reload (issue 6): a file written in a VM and in a container is still there after
// the page reloads and the lab resumes its saved machines; a full quota is reported clearly and the
// snapshot saved before it survives, whole.
import { test, expect, type Page } from '@playwright/test';
import { card, hasContainerImages, hasImages, shot, waitForTerminal } from './helpers.ts';

test.skip(!hasImages('vm/disk.img', 'bios/seabios.bin') || !hasContainerImages(), 'guest images not built (npm run images)');

const container = (page: Page, id: string) => page.locator(`section.container[data-machine="${id}"]`);

async function typeIn(page: Page, where: ReturnType<typeof card>, text: string) {
  await where.locator('.xterm').first().click();
  await page.keyboard.type(text);
}

async function save(page: Page, id: string) {
  await card(page, id).getByTestId('snapshot-save').click();
  await expect(card(page, id).getByTestId('snapshot-note')).toContainText(/^Saved: [\d.]+ MiB of state, [\d.]+ MiB stored/, { timeout: 60_000 });
}

test('a file written in a VM and in a container is there after a reload and resume', async ({ page }, info) => {
  test.setTimeout(480_000);
  const token = Date.now().toString(36);
  await page.goto('./?page=lab&vms=1&containers=1');
  await expect(card(page, 'vm1').getByTestId('flag')).toBeVisible({ timeout: 200_000 });
  await expect(card(page, 'host').getByTestId('flag')).toBeVisible({ timeout: 200_000 });

  await typeIn(page, card(page, 'vm1'), 'root\n');
  await waitForTerminal(page, 'vm1', /# $/m, 30_000);
  await typeIn(page, card(page, 'vm1'), `echo vm-${token} > /root/proof; sync; cat /root/proof\n`);
  await waitForTerminal(page, 'vm1', new RegExp(`^vm-${token}$`, 'm'), 30_000);

  await card(page, 'host').getByTestId('add-container').click();
  await expect(container(page, 'c1')).toContainText('prompt in', { timeout: 60_000 });
  await typeIn(page, container(page, 'c1'), `echo box-${token} > /proof; cat /proof\n`);
  await waitForTerminal(page, 'c1', new RegExp(`^box-${token}$`, 'm'), 30_000);

  await save(page, 'vm1');
  await save(page, 'host');
  await expect(page.getByTestId('storage-use')).toContainText(/Snapshots: 2 saved · this site uses [\d.]+ MiB/);
  await shot(page, info, 'snapshot-saved');

  await page.reload();
  const offer = page.getByTestId('resume-offer');
  await expect(offer).toContainText('Resume where you left off?');
  await expect(offer).toContainText(/VM1 \(saved .* ago\), container host \(saved .* ago\)|container host \(saved .* ago\), VM1 \(saved .* ago\)/);
  await shot(page, info, 'snapshot-offer');
  await page.getByTestId('resume-all').click();
  await expect(offer).toHaveCount(0, { timeout: 60_000 });
  await expect(page.getByTestId('resume-problem')).toHaveCount(0);

  // The VM: the file is there (written before the reload, read back from the restored disk and memory).
  await expect(card(page, 'vm1').getByTestId('flag')).toBeVisible({ timeout: 60_000 });
  await typeIn(page, card(page, 'vm1'), 'cat /root/proof; echo vm-check-$((6*7))\n');
  await waitForTerminal(page, 'vm1', /^vm-check-42$/m, 30_000);
  const vmText = await waitForTerminal(page, 'vm1', new RegExp(`^vm-${token}$`, 'm'), 5_000);
  expect(vmText).toMatch(/cat \/root\/proof/);

  // Resumed, not booted: each card's timeline is one resume segment.
  for (const id of ['vm1', 'host']) {
    await expect(card(page, id).locator('.legend li')).toHaveText([/^Resume [\d,.]+ (ms|s)$/], { timeout: 60_000 });
  }

  // The container: same process, same file, its terminal reattached over the mux.
  await expect(container(page, 'c1')).toBeVisible({ timeout: 60_000 });
  await expect(container(page, 'c1').getByTestId('resumed')).toHaveText('running · resumed with its host');
  await typeIn(page, container(page, 'c1'), 'cat /proof; echo box-check-$((6*7))\n');
  await waitForTerminal(page, 'c1', /^box-check-42$/m, 30_000);
  await waitForTerminal(page, 'c1', new RegExp(`^box-${token}$`, 'm'), 5_000);
  // And the host still starts new containers.
  await card(page, 'host').getByTestId('add-container').click();
  await expect(page.locator('section.container')).toHaveCount(2);
  await expect(page.locator('section.container').nth(1)).toContainText('prompt in', { timeout: 60_000 });
  await shot(page, info, 'snapshot-resumed');
});

test('a full quota: clear message, the earlier snapshot survives and restores', async ({ page, context }, info) => {
  test.setTimeout(300_000);
  await page.goto('./?page=lab&vms=0&containers=1');
  await expect(card(page, 'host').getByTestId('flag')).toBeVisible({ timeout: 200_000 });
  await save(page, 'host');
  const before = await page.getByTestId('storage-use').textContent();

  // Shrink this origin's quota below what a second save needs (Chromium DevTools protocol).
  const cdp = await context.newCDPSession(page);
  const origin = new URL(page.url()).origin;
  const usage = await page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: usage + 64 * 1024 });
  await typeIn(page, card(page, 'host'), 'echo changed > /root/after-save\n');
  await card(page, 'host').getByTestId('snapshot-save').click();
  await expect(card(page, 'host').getByTestId('snapshot-problem')).toContainText(
    /Browser storage is full: this snapshot needs [\d.]+ MiB\. Nothing already saved was lost/,
    { timeout: 60_000 },
  );
  await shot(page, info, 'snapshot-quota-full');
  await expect(page.getByTestId('storage-use')).toContainText('Snapshots: 1 saved');

  // The first snapshot is whole: it restores (the file written after it is, rightly, not there).
  await cdp.send('Storage.overrideQuotaForOrigin', { origin });
  await card(page, 'host').getByTestId('snapshot-restore').click();
  await expect(card(page, 'host').getByTestId('snapshot-note')).toContainText('Resumed the state saved', { timeout: 60_000 });
  await typeIn(page, card(page, 'host'), 'ls /root/after-save 2>&1; echo host-check-$((6*7))\n');
  await waitForTerminal(page, 'host', /^host-check-42$/m, 30_000);
  await waitForTerminal(page, 'host', /No such file or directory/, 5_000);
  expect(before).toContain('Snapshots: 1 saved');
});

test('warm races: the first keeps the booted host, the next resumes it instead of booting', async ({ page }, info) => {
  test.setTimeout(480_000);
  const hostFinish = () =>
    page.evaluate(() => {
      const s = (window as any).stacklab?.race?.sessions?.find((x: any) => x.kind === 'host');
      return s?.finish
        ? {
            phase: s.finish.phase as string,
            skipped: [...s.finish.skipped] as string[],
            wallMs: s.finish.wallMs as number,
            instructions: s.finish.instructions as number,
          }
        : null;
    });
  const raceDone = () => page.evaluate(() => !!(window as any).stacklab?.race?.done);
  const snapshotFiles = () =>
    page.evaluate(async () => {
      const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('stacklab-snapshots', { create: true });
      const names: string[] = [];
      for await (const name of (dir as any).keys()) names.push(name);
      return names;
    });

  await page.goto('./?vms=1&containers=1&mode=warm');
  expect(await snapshotFiles()).toEqual([]);
  await page.getByTestId('start').click();
  // First warm race: a real boot (no phase passed over), and the booted host is kept.
  await expect.poll(hostFinish, { timeout: 200_000 }).toMatchObject({ phase: 'ready', skipped: [] });
  await expect.poll(snapshotFiles, { timeout: 90_000 }).toEqual([expect.stringMatching(/^warm\.host\.[0-9a-f]{16}\.snap$/)]);
  await expect.poll(raceDone, { timeout: 200_000 }).toBe(true);

  // Next warm race: the host resumes that state; its boot phases happened before the snapshot.
  await page.getByTestId('start').click();
  await expect.poll(hostFinish, { timeout: 120_000 }).toMatchObject({ phase: 'ready', skipped: ['kernel', 'init', 'boxd'] });
  await expect.poll(raceDone, { timeout: 200_000 }).toBe(true);
  const c1 = await page.evaluate(() => {
    const host = (window as any).stacklab.race.sessions.find((x: any) => x.kind === 'host');
    const c = host.containers[0];
    return { finished: !!c.finish, error: c.error?.message ?? null };
  });
  expect(c1).toEqual({ finished: true, error: null });
  const resumed = await hostFinish();
  console.log(
    `warm race: host resumed and ready (boxd answered) ${resumed!.wallMs.toFixed(0)} ms and ${(resumed!.instructions / 1e6).toFixed(2)} M guest instructions after power-on`,
  );
  await shot(page, info, 'snapshot-warm-race');
});
