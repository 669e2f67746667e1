// Shared helpers for the browser tests, in the spirit of xterm.js's suite: read terminal buffers
// through the page's own sessions, poll for conditions, and keep a screenshot of every step.
import { expect, type Page, type TestInfo } from '@playwright/test';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DIST = fileURLToPath(new URL('../../images/dist/', import.meta.url));
export const hasImages = (...files: string[]) => files.every((f) => existsSync(DIST + f));
/** The host's initramfs (uncompressed newc cpio: paths appear verbatim) carries boxd; its image store the OCI images. */
export const hasContainerImages = () =>
  hasImages('host/initramfs.cpio', 'host/store.img') &&
  readFileSync(DIST + 'host/initramfs.cpio').includes('usr/bin/boxd') &&
  readFileSync(DIST + 'host/store.img').includes('index.json');

/** Text of a machine's terminal buffer (every line, trailing spaces trimmed). */
export async function terminalText(page: Page, machineId: string): Promise<string> {
  return page.evaluate((id) => {
    const w = window as any;
    const machines = [...(w.stacklab?.race?.sessions ?? []), ...(w.stacklab?.lab?.sessions ?? [])];
    const sessions = machines.flatMap((m: any) => [m, ...(m.containers ?? [])]);
    const s = sessions.find((x: any) => x.id === id);
    return s ? s.terminal.lines().join('\n') : '';
  }, machineId);
}

export async function waitForTerminal(page: Page, machineId: string, re: RegExp, timeout = 60_000): Promise<string> {
  let text = '';
  await expect.poll(async () => (text = await terminalText(page, machineId)), { timeout, message: `terminal of ${machineId} to match ${re}` }).toMatch(re);
  return text;
}

/**
 * A full-page screenshot to `path`, the page left scrolled where it was. Chromium's full-page
 * capture (captureBeyondViewport) lays the page out anew for the whole document and back, and may
 * leave its scroll offset at an older value than the one the browser hit-tests with: the next
 * mousedown resyncs it and scrolls the page under the pointer, so the mouseup and the click land on
 * whatever is there now. Playwright checks the hit target on the first event only and reports the
 * click done; in one CI run "Start container" was clicked this way and no card came
 * (take-it-elsewhere.spec.ts). Scrolling back to where the page was, explicitly, resyncs both.
 * Every full-page screenshot of a test goes through here.
 */
export async function fullPageScreenshot(page: Page, path: string) {
  const at = await page.evaluate(() => [scrollX, scrollY] as const);
  await page.screenshot({ path, fullPage: true });
  const off = await page.evaluate(
    ([x, y]) =>
      new Promise<readonly [number, number]>((resolve) => {
        scrollTo({ left: x, top: y, behavior: 'instant' });
        // Where it can be, two frames on: a page that grew shorter meanwhile clamps the offset.
        const max = (v: number, most: number) => Math.min(v, Math.max(0, most));
        const el = document.scrollingElement ?? document.documentElement;
        const off = () => [scrollX - max(x, el.scrollWidth - el.clientWidth), scrollY - max(y, el.scrollHeight - el.clientHeight)] as const;
        requestAnimationFrame(() => requestAnimationFrame(() => resolve(off())));
      }),
    at,
  );
  expect(off, `the page scrolled back to ${at.join(',')} after the screenshot ${path} (off by x, y)`).toEqual([0, 0]);
}

/** A full-page screenshot of the step, kept with the test's output (fullPageScreenshot). */
export async function shot(page: Page, info: TestInfo, name: string) {
  await fullPageScreenshot(page, info.outputPath(`${name}.png`));
}

export const card = (page: Page, id: string) => page.locator(`article[data-machine="${id}"]`);
