// Free play: a guest kernel panic stays on its own card; the other machine keeps running, and a
// power-cycle brings the crashed one back through a full boot.
import { test, expect } from '@playwright/test';
import { card, hasImages, shot, waitForTerminal } from './helpers.ts';

test.skip(!hasImages('vm/disk.img', 'bios/seabios.bin'), 'guest images not built (npm run images)');

async function typeInto(page: import('@playwright/test').Page, id: string, text: string) {
  await card(page, id).locator('.xterm').click();
  await page.keyboard.type(text);
}

test('a kernel panic shows on its card only; power-cycle boots it again', async ({ page }, info) => {
  test.setTimeout(240_000);
  await page.goto('./?page=lab&vms=2&containers=0');
  await expect(card(page, 'vm1').getByTestId('flag')).toBeVisible({ timeout: 90_000 });
  await expect(card(page, 'vm2').getByTestId('flag')).toBeVisible({ timeout: 90_000 });

  await typeInto(page, 'vm1', 'root\n');
  await waitForTerminal(page, 'vm1', /# $/m, 30_000);
  await typeInto(page, 'vm1', 'echo c > /proc/sysrq-trigger\n');
  const panic = card(page, 'vm1').getByTestId('panic');
  await expect(panic).toContainText('kernel panic', { timeout: 30_000 });
  await expect(panic).toContainText(/Kernel panic - not syncing/);
  await expect(card(page, 'vm2').getByTestId('panic')).toHaveCount(0);
  await shot(page, info, 'lab-panic');

  // The neighbour is unaffected: it still answers.
  await typeInto(page, 'vm2', 'root\n');
  await waitForTerminal(page, 'vm2', /# $/m, 30_000);
  await typeInto(page, 'vm2', 'uname -r\n');
  await waitForTerminal(page, 'vm2', /^6\.1\.\d+$/m, 30_000);

  await card(page, 'vm1').getByRole('button', { name: 'Power-cycle' }).click();
  await expect(card(page, 'vm1').getByTestId('panic')).toHaveCount(0);
  await expect(card(page, 'vm1').getByTestId('flag')).toBeVisible({ timeout: 90_000 });
  await shot(page, info, 'lab-after-power-cycle');
});
