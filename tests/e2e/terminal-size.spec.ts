// Issue 11, item 6: the page tells a serial console its size (`stty rows R cols C`) only when a
// shell is idle at a prompt it marked (OSC 133), never into a program. A line in vi or in
// `cat > file` that looks like a prompt ("# " before the cursor) used to receive the stty line,
// and the file kept it.
import { test, expect, type Page } from '@playwright/test';
import { card, hasImages, shot, waitForTerminal } from './helpers.ts';

test.skip(!hasImages('vm/disk.img', 'bios/seabios.bin'), 'guest images not built (npm run images)');

const size = (page: Page) =>
  page.evaluate(() => {
    const t = (window as any).stacklab.race.sessions[0].terminal.term;
    return { cols: t.cols as number, rows: t.rows as number };
  });

/** Resize the window until the terminal refits to a new size; returns it. */
async function resize(page: Page, width: number, height: number) {
  const before = await size(page);
  await page.setViewportSize({ width, height });
  await expect.poll(async () => (await size(page)).cols, { timeout: 10_000 }).not.toBe(before.cols);
  return size(page);
}

/** Waits until the cursor sits at a fresh shell prompt (vi's and cat's "# " lines do not count). */
async function atPrompt(page: Page) {
  const cursorLine = () =>
    page.evaluate(() => {
      const buf = (window as any).stacklab.race.sessions[0].terminal.term.buffer.active;
      return buf.getLine(buf.baseY + buf.cursorY).translateToString(true) as string;
    });
  await expect.poll(cursorLine, { timeout: 15_000, message: 'a prompt at the cursor' }).toMatch(/^vm:\S*# $/);
}

/**
 * Record every size line the page sends to the VM's console (what it types, not what the screen
 * shows: vi clears the screen, and a line typed into a program may never be echoed).
 */
function recordSizeLines(page: Page) {
  return page.evaluate(() => {
    const w = window as any;
    const io = w.stacklab.race.sessions[0].terminal.io;
    const input = io.input;
    w.__sizeLines = [];
    io.input = (bytes: Uint8Array) => {
      const text = new TextDecoder().decode(bytes); // before input() transfers the buffer away
      if (/^stty rows/.test(text)) w.__sizeLines.push(text);
      input(bytes);
    };
  });
}

/** How many size lines the page typed so far. */
const sizeLines = (page: Page) => page.evaluate(() => (window as any).__sizeLines.length as number);

test('the size line is never typed into vi or cat > file; it is told at the next idle prompt', async ({ page }, info) => {
  test.setTimeout(180_000);
  await page.goto('./?vms=1&containers=0&autostart=1');
  await expect(card(page, 'vm1').getByTestId('flag')).toBeVisible({ timeout: 90_000 });
  await recordSizeLines(page);
  await card(page, 'vm1').getByTestId('open-terminal').click();
  await page.getByTestId('terminal-drawer').locator('.xterm').click();
  await page.keyboard.type('root\n');
  // The first prompt after the login is marked and empty: the page tells the size there.
  const start = await size(page);
  await waitForTerminal(page, 'vm1', new RegExp(`stty rows ${start.rows} cols ${start.cols}`), 30_000);
  await atPrompt(page);

  // vi, insert mode, "# " typed: the line ends like a prompt. Then the window shrinks.
  await page.keyboard.type('vi /tmp/t.sh\n');
  await waitForTerminal(page, 'vm1', /^~\s*$/m, 15_000);
  await page.keyboard.type('i');
  await page.keyboard.type('# ');
  const told = await sizeLines(page);
  const inVi = await resize(page, 1280, 720);
  // Longer than the page's debounce and its old 1 s typing pause: time enough to misfire.
  await page.waitForTimeout(3000);
  expect.soft(await sizeLines(page), 'no size line typed while vi runs').toBe(told);
  await shot(page, info, 'vi-after-resize');
  await page.keyboard.press('Escape');
  // vi takes an ESC followed at once by more bytes for the start of a key sequence: pause as a person does.
  await page.waitForTimeout(500);
  await page.keyboard.type(':wq\n');
  await atPrompt(page);

  // cat > file, "# " typed on a line of its own, then the window grows.
  await page.keyboard.type('cat > /tmp/c.txt\n');
  await page.keyboard.type('# ');
  await resize(page, 1500, 900);
  await page.waitForTimeout(3000);
  expect.soft(await sizeLines(page), 'no size line typed while cat reads').toBe(told);
  await page.keyboard.press('Enter');
  await page.keyboard.press('Control+D');
  await atPrompt(page);

  // The files on the guest's disk hold exactly what was typed, no stty line.
  await page.keyboard.type('od -An -c /tmp/t.sh; od -An -c /tmp/c.txt; echo files-$((6*7))\n');
  const text = await waitForTerminal(page, 'vm1', /^files-42$/m, 15_000);
  const dump = text.slice(text.lastIndexOf('od -An -c /tmp/t.sh'));
  console.log(`vi ${inVi.cols}x${inVi.rows}; files as od -c shows them:\n${dump}`);
  expect(dump).not.toMatch(/s\s+t\s+t\s+y/);
  expect(dump.match(/^\s+#\s+\\n\s*$/gm)?.length, 'each file is "# \\n"').toBe(2);

  // That command line was ended at a marked prompt: the prompt after it is idle, so the page tells
  // the current size there, and stty size in the guest agrees.
  const now = await size(page);
  await expect.poll(() => sizeLines(page), { timeout: 15_000 }).toBe(told + 1);
  await waitForTerminal(page, 'vm1', new RegExp(`stty rows ${now.rows} cols ${now.cols}`), 15_000);
  await atPrompt(page);
  await page.keyboard.type('stty size\n');
  await waitForTerminal(page, 'vm1', new RegExp(`^${now.rows} ${now.cols}$`, 'm'), 15_000);
  await shot(page, info, 'size-told-at-prompt');
});
