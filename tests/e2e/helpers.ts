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

export async function shot(page: Page, info: TestInfo, name: string) {
  await page.screenshot({ path: info.outputPath(`${name}.png`), fullPage: true });
}

export const card = (page: Page, id: string) => page.locator(`article[data-machine="${id}"]`);
