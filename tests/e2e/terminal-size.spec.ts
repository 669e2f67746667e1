// Issue 11, item 6: the page tells a serial console its size (`stty rows R cols C`) only when a
// shell is idle at a prompt it marked (OSC 133), never into a program. A line in vi or in
// `cat > file` that looks like a prompt ("# " before the cursor) used to receive the stty line,
// and the file kept it. Both serial consoles: a VM's, and the container host's root console.
import { test, expect, type Page } from '@playwright/test';
import { card, hasImages, shot, waitForTerminal } from './helpers.ts';

test.skip(!hasImages('vm/disk.img', 'host/initramfs.cpio', 'bios/seabios.bin'), 'guest images not built (npm run images)');

interface Console {
  id: string;
  url: string;
  /** Keys that bring a shell (the VM's getty wants a login; the host's console is a shell from boot). */
  login: string;
  prompt: RegExp;
}

const CONSOLES: Console[] = [
  { id: 'vm1', url: './?vms=1&containers=0&autostart=1', login: 'root\n', prompt: /^vm:\S*# $/ },
  { id: 'host', url: './?vms=0&containers=1&autostart=1', login: '', prompt: /^host:\S*# $/ },
];

/** The machine session's terminal, found by id in the page. */
function terminal(page: Page, id: string) {
  return {
    size: () =>
      page.evaluate((id) => {
        const t = (window as any).stacklab.race.sessions.find((s: any) => s.id === id).terminal.term;
        return { cols: t.cols as number, rows: t.rows as number };
      }, id),
    cursorLine: () =>
      page.evaluate((id) => {
        const buf = (window as any).stacklab.race.sessions.find((s: any) => s.id === id).terminal.term.buffer.active;
        return buf.getLine(buf.baseY + buf.cursorY).translateToString(true) as string;
      }, id),
    /**
     * Record every size line the page sends to the console (what it types, not what the screen
     * shows: vi clears the screen, and a line typed into a program may never be echoed).
     */
    recordSizeLines: () =>
      page.evaluate((id) => {
        const w = window as any;
        const io = w.stacklab.race.sessions.find((s: any) => s.id === id).terminal.io;
        const input = io.input;
        w.__sizeLines = [];
        io.input = (bytes: Uint8Array) => {
          const text = new TextDecoder().decode(bytes); // before input() transfers the buffer away
          if (/^stty rows/.test(text)) w.__sizeLines.push(text);
          input(bytes);
        };
      }, id),
    /** How many size lines the page typed so far. */
    sizeLines: () => page.evaluate(() => (window as any).__sizeLines.length as number),
  };
}

for (const c of CONSOLES) {
  test(`${c.id}: the size line is never typed into vi or cat > file; it is told at the next idle prompt`, async ({ page }, info) => {
    test.setTimeout(180_000);
    const t = terminal(page, c.id);
    /** Waits until the cursor sits at a fresh shell prompt (vi's and cat's "# " lines do not count). */
    const atPrompt = () => expect.poll(t.cursorLine, { timeout: 15_000, message: 'a prompt at the cursor' }).toMatch(c.prompt);
    /** Resize the window until the terminal refits to a new size; returns it. */
    const resize = async (width: number, height: number) => {
      const before = await t.size();
      await page.setViewportSize({ width, height });
      await expect.poll(async () => (await t.size()).cols, { timeout: 10_000 }).not.toBe(before.cols);
      return t.size();
    };

    await page.goto(c.url);
    await expect(card(page, c.id).getByTestId('flag')).toBeVisible({ timeout: 90_000 });
    await t.recordSizeLines();
    await card(page, c.id).getByTestId('open-terminal').click();
    await page.getByTestId('terminal-drawer').locator('.xterm').click();
    await page.keyboard.type(c.login);
    // The first marked prompt with nothing typed (after the login, or shown when the drawer opens):
    // the page tells the size there.
    const start = await t.size();
    await waitForTerminal(page, c.id, new RegExp(`stty rows ${start.rows} cols ${start.cols}`), 30_000);
    await atPrompt();

    // vi, insert mode, "# " typed: the line ends like a prompt. Then the window shrinks.
    await page.keyboard.type('vi /tmp/t.sh\n');
    await waitForTerminal(page, c.id, /^~\s*$/m, 15_000);
    await page.keyboard.type('i');
    await page.keyboard.type('# ');
    const told = await t.sizeLines();
    const inVi = await resize(1280, 720);
    // Longer than the page's debounce and its old 1 s typing pause: time enough to misfire.
    await page.waitForTimeout(3000);
    expect.soft(await t.sizeLines(), 'no size line typed while vi runs').toBe(told);
    await shot(page, info, `${c.id}-vi-after-resize`);
    await page.keyboard.press('Escape');
    // vi takes an ESC followed at once by more bytes for the start of a key sequence: pause as a person does.
    await page.waitForTimeout(500);
    await page.keyboard.type(':wq\n');
    await atPrompt();

    // cat > file, "# " typed on a line of its own, then the window grows.
    await page.keyboard.type('cat > /tmp/c.txt\n');
    await page.keyboard.type('# ');
    await resize(1500, 900);
    await page.waitForTimeout(3000);
    expect.soft(await t.sizeLines(), 'no size line typed while cat reads').toBe(told);
    await page.keyboard.press('Enter');
    await page.keyboard.press('Control+D');
    await atPrompt();

    // The files on the guest hold exactly what was typed, no stty line.
    await page.keyboard.type('od -An -c /tmp/t.sh; od -An -c /tmp/c.txt; echo files-$((6*7))\n');
    const text = await waitForTerminal(page, c.id, /^files-42$/m, 15_000);
    const dump = text.slice(text.lastIndexOf('od -An -c /tmp/t.sh'));
    console.log(`${c.id}: vi at ${inVi.cols}x${inVi.rows}; the files as od -c shows them:\n${dump}`);
    expect(dump).not.toMatch(/s\s+t\s+t\s+y/);
    expect(dump.match(/^\s+#\s+\\n\s*$/gm)?.length, 'each file is "# \\n"').toBe(2);

    // That command line was ended at a marked prompt: the prompt after it is idle, so the page
    // tells the current size there, once, and stty size in the guest agrees.
    const now = await t.size();
    await expect.poll(t.sizeLines, { timeout: 15_000 }).toBe(told + 1);
    await waitForTerminal(page, c.id, new RegExp(`stty rows ${now.rows} cols ${now.cols}`), 15_000);
    await atPrompt();
    await page.keyboard.type('stty size\n');
    await waitForTerminal(page, c.id, new RegExp(`^${now.rows} ${now.cols}$`, 'm'), 15_000);
    await shot(page, info, `${c.id}-size-told-at-prompt`);
  });
}
