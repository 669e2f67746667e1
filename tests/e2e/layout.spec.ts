// Nothing on the board overlaps: with the fullest race (6 VMs + 12 containers), mid-race and at the
// finish, and on the compare page while an experiment runs, no visible text of the race board, the
// results, a container lane or the compare page's header is drawn over other text or a control,
// cut by a clipping box or pushed off the screen, at the three screen sizes a class uses.
import { test, expect, type Page, type TestInfo } from '@playwright/test';
import { card, fullPageScreenshot, hasContainerImages, hasImages } from './helpers.ts';
import { layoutProblems, unequalWidths, wrappedRows, type LayoutProblem } from './layout-check.ts';

test.skip(!hasImages('vm/disk.img', 'host/bzImage', 'bios/seabios.bin') || !hasContainerImages(), 'guest images not built (npm run images)');

const SIZES = [
  { width: 1280, height: 720 },
  { width: 1600, height: 1000 },
  { width: 1920, height: 1080 },
] as const;

const RACE = ['[aria-label="Race setup"]', '[data-testid="board"]', '[data-testid="container-lanes"]', 'section.results'];
/** One time scale on the board: the VMs' and the host's tracks are equally wide, and so are the containers'. */
const sameScale = (page: Page) => unequalWidths(page, ['[data-testid="board"] > .lane .track', '[data-testid="container-lanes"] .lane .track']);

/**
 * Check `roots` at every size, that each of `rows` stays on one line, and what `more` checks; a
 * screenshot of each size is kept, and every problem is printed.
 */
async function checkAtEverySize(
  page: Page,
  info: TestInfo,
  roots: readonly string[],
  moment: string,
  rows: readonly string[] = [],
  more: (page: Page) => Promise<LayoutProblem[]> = async () => [],
): Promise<string[]> {
  const found: string[] = [];
  for (const size of SIZES) {
    await page.setViewportSize(size);
    // Two frames: the resize's layout and the page's own reaction to it (fit addons, derived state).
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const problems = [...(await layoutProblems(page, roots)), ...(await wrappedRows(page, rows)), ...(await more(page))];
    const path = info.outputPath(`layout-${moment}-${size.width}x${size.height}.png`);
    await (rows.length > 0 ? fullPageScreenshot(page, path) : page.screenshot({ path }));
    for (const p of problems) found.push(`${moment} at ${size.width}×${size.height}: ${p.kind}: ${p.text}${p.other ? ` / ${p.other}` : ''} [${p.box}]`);
  }
  return found;
}

test('the full race board, its container lanes and the results: no text overlaps or is cut, at 1280, 1600 and 1920', async ({ page }, info) => {
  // Eighteen machines on two shared cores: under load a race takes minutes.
  test.setTimeout(600_000);
  await page.goto('./?vms=6&containers=12&autostart=1');
  // Mid-race: the containers have their outcome on the running host (a timer reading "x,xxx ms",
  // or a lane's error message: text to check all the same) while the VMs still boot.
  await page.waitForFunction(
    () => {
      const race = (window as any).stacklab?.race;
      const cs = race?.host?.containers ?? [];
      return cs.length === 12 && cs.some((c: any) => c.finish || c.error) && race.sessions.some((s: any) => s.kind === 'vm' && !s.finish);
    },
    undefined,
    { timeout: 300_000, polling: 100 },
  );
  const mid = await checkAtEverySize(page, info, RACE, 'race-mid', [], sameScale);
  await page.waitForFunction(() => (window as any).stacklab?.race?.done, undefined, { timeout: 300_000, polling: 500 });
  await expect(page.getByTestId('summary')).toBeVisible();
  const done = await checkAtEverySize(page, info, RACE, 'race-done', [], sameScale);
  const all = [...mid, ...done];
  console.log(all.length ? all.join('\n') : 'no overlapping, clipped or covered text');
  expect(all, 'text boxes that intersect, are clipped or are covered').toEqual([]);
});

test('the compare page header stays readable while an experiment runs, at 1280, 1600 and 1920', async ({ page }, info) => {
  test.setTimeout(120_000);
  await page.goto('./?page=compare');
  await page.locator('article[data-experiment="size"]').getByTestId('run').click();
  await expect(page.getByTestId('queue-status')).toContainText('Running Size');
  const found = await checkAtEverySize(page, info, ['header.top', 'section.intro'], 'compare-running');
  await page.getByTestId('stop-all').click();
  console.log(found.length ? found.join('\n') : 'no overlapping, clipped or covered text');
  expect(found, 'text boxes that intersect, are clipped or are covered').toEqual([]);
});

// The lab's cards: the header (name, state, Remove), the row of controls and the row of what to do
// with the machine each stay on one line, as does a container's header; at 1600×1000 the host's
// "Remove" used to wrap onto a row of its own.
const LAB_ROWS = ['article[data-machine] > header', 'article[data-machine] > footer', 'article[data-machine] > .work', 'section.container > header'];
const LAB = [...LAB_ROWS, 'article[data-machine] > .figures'];

test('the lab cards keep their header and each row of buttons on one line, with a container, at 1280, 1600 and 1920', async ({ page }, info) => {
  test.setTimeout(400_000);
  await page.goto('./?page=lab&vms=1&containers=1');
  for (const id of ['vm1', 'host']) await expect(card(page, id).getByTestId('flag')).toBeVisible({ timeout: 300_000 });
  await card(page, 'host').getByTestId('add-container').click();
  await expect(page.locator('section.container[data-machine="c1"] > header')).toContainText('prompt in', { timeout: 120_000 });
  const found = await checkAtEverySize(page, info, LAB, 'lab', LAB_ROWS);
  console.log(found.length ? found.join('\n') : 'no wrapped rows, no overlapping, clipped or covered text');
  expect(found, 'rows that wrapped, text boxes that intersect, are clipped or are covered').toEqual([]);
});
