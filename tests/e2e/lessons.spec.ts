// Lessons in Chromium: a student walks "One kernel or many" by typing into the machines' terminals,
// sees a failing check's hint, passes, and a reload keeps the progress. Bad lessons (a missing step
// file, a script for a machine the lesson does not have, unsafe HTML, an unreachable URL) give a
// clear message and the rest of the page keeps working. Remote lessons are served by page.route.
import { test, expect, type Page } from '@playwright/test';
import { card, fullPageScreenshot, hasContainerImages, hasImages, shot, waitForTerminal } from './helpers.ts';
import { layoutProblems } from './layout-check.ts';
import { StaticHost, watchCsp } from './static-host.ts';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeResultCode, makeResult } from '../../src/core/lessons/index.ts';

const panel = (page: Page) => page.getByTestId('lesson-panel');

async function typeInto(page: Page, id: string, text: string) {
  const where = id.startsWith('c') ? page.locator(`section[data-machine="${id}"] .xterm`) : card(page, id).locator('.xterm').first();
  await where.click();
  await page.keyboard.type(text);
}

async function check(page: Page) {
  await panel(page).getByTestId('lesson-check').click();
  await expect(panel(page).getByTestId('lesson-check')).toHaveText('Check', { timeout: 60_000 });
}

test.describe('a student walks One kernel or many', () => {
  test.skip(!hasImages('vm/disk.img') || !hasContainerImages(), 'guest images not built (npm run images)');

  test('checks fail with their hint, pass once the work is done, and a reload keeps the progress', async ({ page }, info) => {
    test.setTimeout(600_000);
    await page.goto('./?lesson=one-kernel&vms=2&containers=1');
    await expect(panel(page)).toContainText('One kernel or many');
    await expect(panel(page).getByTestId('lesson-step')).toHaveAttribute('data-step', '1');
    for (const id of ['vm1', 'vm2', 'host']) await expect(card(page, id).getByTestId('flag')).toBeVisible({ timeout: 180_000 });

    // Step 1: the check looks at the VMs' files, so before the work it fails with its hint.
    await check(page);
    await expect(panel(page).getByTestId('lesson-hint')).toContainText('In VM 1 and in VM 2, run: uname -r > /root/kernel.txt');
    for (const vm of ['vm1', 'vm2']) {
      await typeInto(page, vm, 'root\n');
      await waitForTerminal(page, vm, /# $/m, 30_000);
      await typeInto(page, vm, 'uname -r > /root/kernel.txt\n');
    }
    await expect(async () => {
      await check(page);
      await expect(panel(page).getByTestId('lesson-result')).toContainText('✓ Done', { timeout: 1000 });
    }).toPass({ timeout: 60_000 });
    // The checks never typed into the student's terminal.
    await waitForTerminal(page, 'vm1', /kernel\.txt\n.*# $/s);
    await shot(page, info, 'lesson-step1-passed');

    // A reload keeps the progress, and the machines saved by the pass resume instead of booting.
    await expect(panel(page).getByTestId('lesson-kept')).toHaveAttribute('data-state', 'saved', { timeout: 180_000 });
    await page.reload();
    await expect(panel(page)).toContainText('1/3 done');
    await expect(card(page, 'vm1').locator('.legend li')).toHaveText([/^Resume /], { timeout: 120_000 });
    await panel(page).getByTestId('lesson-next').click();
    await expect(panel(page).getByTestId('lesson-step')).toHaveAttribute('data-step', '2');

    // Step 2: the host and two containers, started from the panel.
    await expect(card(page, 'host').getByTestId('flag')).toBeVisible({ timeout: 180_000 });
    await panel(page).getByTestId('lesson-start-machines').click();
    for (const c of ['c1', 'c2']) await waitForTerminal(page, c, /# $/m, 60_000);
    await check(page);
    await expect(panel(page).getByTestId('lesson-hint')).toContainText('/root/kernel.txt on the host');
    await typeInto(page, 'host', 'uname -r > /root/kernel.txt\n');
    await typeInto(page, 'c1', 'uname -r > /kernel.txt\n');
    await typeInto(page, 'c2', 'uname -r > /kernel.txt\n');
    await expect(async () => {
      await check(page);
      await expect(panel(page).getByTestId('lesson-result')).toContainText('✓ Done', { timeout: 1000 });
    }).toPass({ timeout: 60_000 });

    // Step 3 with "Show me": the answer is typed, visibly, into the host's terminal.
    await panel(page).getByTestId('lesson-next').click();
    await check(page);
    await expect(panel(page).getByTestId('lesson-hint')).toBeVisible();
    await panel(page).getByTestId('lesson-show-me').click();
    await waitForTerminal(page, 'host', /echo 3 > \/root\/answer\.txt/, 30_000);
    await expect(async () => {
      await check(page);
      await expect(panel(page).getByTestId('lesson-result')).toContainText('✓ Done', { timeout: 1000 });
    }).toPass({ timeout: 60_000 });
    await expect(panel(page)).toContainText('3/3 done');
    await shot(page, info, 'lesson-done');

    // Reset forgets it.
    await panel(page).getByTestId('lesson-reset').click();
    await expect(panel(page)).toContainText('0/3 done');
  });
});

test.describe('a student builds a container from scratch in the host shell', () => {
  test.skip(!hasContainerImages(), 'container host images not built (npm run images)');

  test('each check fails with its hint, passes once typed; a reload in the middle keeps the progress and resumes the host', async ({ page }, info) => {
    test.setTimeout(600_000);
    const passes = async () =>
      expect(async () => {
        await check(page);
        await expect(panel(page).getByTestId('lesson-result')).toContainText('✓ Done', { timeout: 1000 });
      }).toPass({ timeout: 60_000 });
    /** The next step opens, and its check fails with its hint before the work is done. */
    const nextStepFailsWith = async (hint: string) => {
      const at = Number(await panel(page).getByTestId('lesson-step').getAttribute('data-step'));
      await panel(page).getByTestId('lesson-next').click();
      await expect(panel(page).getByTestId('lesson-step')).toHaveAttribute('data-step', String(at + 1));
      await check(page);
      await expect(panel(page).getByTestId('lesson-hint')).toContainText(hint);
    };
    await page.goto('./?lesson=containers-from-scratch&vms=0&containers=1');
    await expect(panel(page)).toContainText('Containers from scratch');
    await expect(card(page, 'host').getByTestId('flag')).toBeVisible({ timeout: 180_000 });
    await expect(card(page, 'host').locator('.legend li').first()).not.toHaveText(/^Resume/);

    // Step 1: namespaces. Before the work the check fails with its hint.
    await check(page);
    await expect(panel(page).getByTestId('lesson-hint')).toContainText('Run unshare -p -u -m -f --mount-proc sh in the host');
    await typeInto(page, 'host', 'unshare -p -u -m -f --mount-proc sh\n');
    await typeInto(page, 'host', 'echo pid-$$\n');
    await waitForTerminal(page, 'host', /^pid-1$/m, 30_000);
    await typeInto(page, 'host', 'hostname scratch; hostname\n');
    await waitForTerminal(page, 'host', /^scratch$/m, 30_000);
    await passes();
    await expect(panel(page).getByTestId('lesson-kept')).toHaveAttribute('data-state', 'saved', { timeout: 120_000 });
    const kept = await panel(page).getByTestId('lesson-kept').textContent();
    expect(kept).toMatch(/^Saved Container host \([\d.]+ MiB in [\d.]+ s\): a reload resumes them here\.$/);
    console.log(`after the pass: ${kept} (load ${loadavg()[0].toFixed(1)})`);

    // A reload in the middle: the progress is kept and the host resumes its saved state, with the
    // namespaced shell still open (a fresh boot would answer with the host's own hostname).
    await page.reload();
    await expect(panel(page)).toContainText('1/4 done');
    await expect(card(page, 'host').locator('.legend li')).toHaveText([/^Resume /], { timeout: 120_000 });
    await expect(page.getByTestId('resume-offer')).toHaveCount(0);
    await typeInto(page, 'host', 'echo in-$(hostname)-$$\n');
    await waitForTerminal(page, 'host', /^in-scratch-1$/m, 30_000);
    await passes();
    await shot(page, info, 'scratch-resumed');

    // Step 2: a cgroup with pids.max, the shell moved into it.
    await nextStepFailsWith('Make /sys/fs/cgroup/scratch');
    await typeInto(page, 'host', 'exit\n');
    await typeInto(page, 'host', 'cd /sys/fs/cgroup; mkdir scratch; echo 20 > scratch/pids.max; echo $$ > scratch/cgroup.procs; cd; cat /proc/self/cgroup\n');
    await waitForTerminal(page, 'host', /^0::\/scratch$/m, 30_000);
    await passes();

    // Step 3: chroot into an image layer, left open.
    await nextStepFailsWith('chroot into the layer directory');
    await typeInto(page, 'host', 'for d in /var/lib/box/layers/*; do [ -e $d/bin/sh ] && break; done; chroot $d /bin/sh\n');
    await typeInto(page, 'host', 'ls /var/lib/box 2>&1 | head -1; echo chrooted\n');
    await waitForTerminal(page, 'host', /No such file or directory\nchrooted$/m, 30_000);
    await passes();

    // Step 4: the same with one box run.
    await nextStepFailsWith('box run -d --name scratch --pids-limit 20');
    await typeInto(page, 'host', 'exit\n');
    await typeInto(page, 'host', "box run -d --name scratch --pids-limit 20 busybox sleep 3600; box ps | grep -q ' scratch$' && echo up-ok\n");
    await waitForTerminal(page, 'host', /^up-ok$/m, 60_000);
    await passes();
    await expect(panel(page)).toContainText('4/4 done');
    await shot(page, info, 'scratch-done');
  });
});

/** Serve a lesson folder at /e2e-lessons/<name>/ (index.json lists the files; absent files are 404). */
async function serveLesson(page: Page, name: string, files: Record<string, string>, listed = Object.keys(files)) {
  await page.route(
    (url) => url.pathname.startsWith(`/e2e-lessons/${name}/`),
    (route) => {
      const file = new URL(route.request().url()).pathname.split('/').pop()!;
      if (file === 'index.json') return route.fulfill({ contentType: 'application/json', body: JSON.stringify(listed) });
      if (file in files) return route.fulfill({ contentType: 'text/markdown', body: files[file] });
      return route.fulfill({ status: 404, body: 'not found' });
    },
  );
}

test.describe('bad lessons', () => {
  test('a missing step file and a script for a machine the lesson does not have are named; the lab still works', async ({ page }, info) => {
    await serveLesson(
      page,
      'broken',
      {
        'lesson.md': '---\ntitle: Broken\nminutes: 3\nmachines: [vm1]\nsteps: [01.md, 02.md]\n---\nIntro\n',
        '01.md': '# One\n```verify vm7\ntrue\n```\n```hint\nh\n```\n```solve vm7\ntrue\n```\n',
      },
      ['lesson.md', '01.md', '02.md'],
    );
    await page.goto('./?lesson=/e2e-lessons/broken/&vms=0&containers=0');
    const err = page.getByTestId('lesson-error');
    await expect(err).toContainText('/e2e-lessons/broken/02.md: step 2 is listed in lesson.md but its file is missing');
    await expect(err).toContainText('/e2e-lessons/broken/01.md: its verify script runs on "vm7", which this lesson does not have (machines: vm1)');
    await shot(page, info, 'lesson-broken');
    // The rest of the page works: a machine can be added beside the message.
    await page.getByTestId('add-vm').click();
    await expect(card(page, 'vm1')).toBeVisible();
  });

  test('unsafe HTML in Markdown is removed and said so; nothing of it runs', async ({ page }, info) => {
    await serveLesson(page, 'unsafe', {
      'lesson.md':
        '---\ntitle: Unsafe\nminutes: 1\nmachines: [page]\n---\nHello <img src="x" onerror="window.__pwned = 1"> <script>window.__pwned = 2</script>\n\n## Step\n\n[click](javascript:window.__pwned=3) <iframe src="https://example.com"></iframe>\n\n```verify page\nguess.answer-s\n```\n\n```hint\nType a guess.\n```\n\n```solve page\nset guess.answer-s 4\n```\n',
    });
    await page.goto('./?lesson=/e2e-lessons/unsafe/&vms=0&containers=0');
    await expect(panel(page)).toContainText('Unsafe');
    await expect(panel(page).getByTestId('lesson-sanitised')).toContainText('<script>');
    await expect(panel(page).getByTestId('lesson-sanitised')).toContainText('onerror attribute');
    await expect(panel(page).locator('iframe, script')).toHaveCount(0);
    await expect(panel(page).locator('a[href^="javascript:"]')).toHaveCount(0);
    expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
    // A page fact check: fails with its hint, passes with a guess typed in its box.
    await check(page);
    await expect(panel(page).getByTestId('lesson-hint')).toContainText('Type a guess.');
    await panel(page).getByTestId('guess-guess.answer-s').fill('4');
    await check(page);
    await expect(panel(page).getByTestId('lesson-result')).toContainText('✓ Done');
    await shot(page, info, 'lesson-unsafe');
  });

  test('an unreachable lesson URL says so; the lab still works', async ({ page }) => {
    await page.route(
      (url) => url.pathname.startsWith('/e2e-lessons/nowhere/'),
      (route) => route.abort('connectionrefused'),
    );
    await page.goto('./?lesson=/e2e-lessons/nowhere/&vms=0&containers=0');
    await expect(page.getByTestId('lesson-error')).toContainText('index.json: could not be read from /e2e-lessons/nowhere/');
    await page.getByTestId('add-vm').click();
    await expect(card(page, 'vm1')).toBeVisible();
  });
});

test.describe('a lesson from another site, under the shipped CSP', () => {
  // The page as a plain host serves it (dist/ with its _headers, so its CSP), and a second origin
  // serving a lesson folder with CORS, as a teacher's site (or their laptop) would.
  let site: StaticHost;
  let lessons: StaticHost;
  test.beforeAll(async () => {
    site = new StaticHost(); // reads the build's _headers: only once the build is there
    const root = mkdtempSync(join(tmpdir(), 'stacklab-lessons-'));
    const folder = join(root, 'remote-cgroups');
    const files: Record<string, string> = {
      'lesson.md':
        '---\ntitle: Remote cgroups\nminutes: 2\nmachines: [page]\n---\nServed by **another site**.\n\n## Guess\n\nHow long?\n\n```verify page\nguess.boot-s\n```\n\n```hint\nType a guess.\n```\n\n```solve page\nset guess.boot-s 3\n```\n',
    };
    mkdirSync(folder);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(folder, name), text);
    writeFileSync(join(folder, 'index.json'), JSON.stringify(Object.keys(files)));
    lessons = new StaticHost(root, [], { 'Access-Control-Allow-Origin': '*' });
    await Promise.all([site.start(), lessons.start()]);
  });
  test.afterAll(async () => Promise.all([site.stop(), lessons.stop()]));

  test('loads, renders and checks with no CSP violation; an unreachable site and a refused scheme each say so', async ({ page }, info) => {
    const csp = watchCsp(page);
    const other = `${lessons.url}remote-cgroups/`;
    expect(new URL(other).origin).not.toBe(new URL(site.url).origin);
    await page.goto(`${site.url}?lesson=${encodeURIComponent(other)}&vms=0&containers=0`);
    await expect(panel(page)).toContainText('Remote cgroups');
    await expect(panel(page)).toContainText('Served by another site.');
    await check(page);
    await expect(panel(page).getByTestId('lesson-hint')).toContainText('Type a guess.');
    await panel(page).getByTestId('guess-guess.boot-s').fill('3');
    await check(page);
    await expect(panel(page).getByTestId('lesson-result')).toContainText('✓ Done');
    expect(lessons.requests.map((r) => r.path)).toEqual(['/remote-cgroups/index.json', '/remote-cgroups/lesson.md']);
    await shot(page, info, 'lesson-remote');
    expect(csp, 'CSP violations').toEqual([]);

    // A site that does not answer (a port nobody listens on): named, and the lab still works.
    const gone = new StaticHost(lessons.root, []);
    await gone.start();
    await gone.stop();
    await page.goto(`${site.url}?lesson=${encodeURIComponent(`${gone.url}remote-cgroups/`)}&vms=0&containers=0`);
    await expect(page.getByTestId('lesson-error')).toContainText(
      `index.json: could not be read from ${gone.url}remote-cgroups/: the site did not answer, or does not let other sites read it`,
    );
    await page.getByTestId('add-vm').click();
    await expect(card(page, 'vm1')).toBeVisible();

    // http:// from another machine: the CSP would refuse it; the page says what to do instead.
    await page.goto(`${site.url}?lesson=${encodeURIComponent('http://lessons.example.org/x/')}&vms=0&containers=0`);
    await expect(page.getByTestId('lesson-error')).toContainText('http:// is not fetched from another site: serve the lesson folder over https://');
    expect(csp, 'CSP violations').toEqual([]);
  });
});

test.describe('layout', () => {
  for (const [w, h] of [
    [1280, 720],
    [1600, 1000],
  ])
    test(`the lesson panel beside the machines at ${w}×${h}, and in presenter mode`, async ({ page }, info) => {
      await page.setViewportSize({ width: w, height: h });
      await page.goto('./?lesson=containers-from-scratch&vms=1&containers=1');
      await expect(panel(page)).toContainText('Containers from scratch');
      await expect(card(page, 'vm1')).toBeVisible();
      const a = await panel(page).boundingBox();
      const b = await card(page, 'vm1').boundingBox();
      expect(a && b && a.x + a.width <= b.x, 'the panel and the machine cards do not overlap').toBe(true);
      // Its own text (the step, its code blocks, the result code row) is neither cut nor drawn over.
      await expect(panel(page).getByTestId('lesson-code')).toHaveValue(/^SL1\./);
      const readable = async (mode: string) =>
        expect(
          (await layoutProblems(page, ['[data-testid="lesson-panel"]'])).map((p) => `${p.kind}: ${p.text} ${p.other ?? ''} [${p.box}]`),
          mode,
        ).toEqual([]);
      await readable('the lesson panel');
      await page.screenshot({ path: info.outputPath(`lesson-${w}x${h}.png`) });
      await panel(page).getByTestId('presenter').click();
      const a2 = await panel(page).boundingBox();
      const b2 = await card(page, 'vm1').boundingBox();
      expect(a2 && b2 && a2.x + a2.width <= b2.x, 'presenter mode: no overlap').toBe(true);
      await readable('the lesson panel in presenter mode');
      await page.screenshot({ path: info.outputPath(`lesson-${w}x${h}-presenter.png`) });
    });
});

test.describe('class board', () => {
  const result = (vmMs: number, containerMs: number, guessVm: number) =>
    Buffer.from(
      JSON.stringify({
        format: 'stacklab-lesson-result',
        version: 1,
        lesson: 'houses-and-apartments',
        exportedAt: '2026-11-30T10:00:00Z',
        steps: 3,
        passed: [1, 2],
        facts: {
          'guess.vm-boot-s': String(guessVm),
          'guess.container-start-s': '2',
          'race.vm-ms': String(vmMs),
          'race.container-ms': String(containerMs),
          'race.vm-instructions': '76700000',
        },
        cores: 4,
      }),
    );

  test('reads three exported files, draws the histogram, names a bad file, exports CSV', async ({ page }, info) => {
    await page.goto('./?page=class');
    await page.getByTestId('class-files').setInputFiles([
      { name: 'ana.json', mimeType: 'application/json', buffer: result(2400, 61, 20) },
      { name: 'ben.json', mimeType: 'application/json', buffer: result(5100, 140, 5) },
      { name: 'chloe.json', mimeType: 'application/json', buffer: result(3300, 90, 60) },
      { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') },
    ]);
    await expect(page.getByTestId('class-table').locator('tbody tr')).toHaveCount(3);
    await expect(page.getByTestId('class-problems')).toContainText('notes.txt: not a stacklab result (it is not JSON)');
    await expect(page.getByTestId('class-table')).toContainText('× 0.12'); // ana: 2.4 s measured ÷ 20 s guessed
    // The histogram has drawn bars: some canvas pixels are the VM colour.
    await expect
      .poll(() =>
        page.getByTestId('class-histogram').evaluate((c: HTMLCanvasElement) => {
          const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 0; i < d.length; i += 4) if (d[i] === 0x7c && d[i + 1] === 0x3a && d[i + 2] === 0xed) n++;
          return n;
        }),
      )
      .toBeGreaterThan(100);
    await page.screenshot({ path: info.outputPath('class-board.png') });
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('class-csv').click()]);
    const csv = await (await download.createReadStream()).toArray().then((c) => Buffer.concat(c).toString());
    expect(csv.split(/\r?\n/)[0]).toContain('vm_boot_ms');
    expect(csv).toContain('ben.json,houses-and-apartments,2,3,5100,140');
  });

  test("a student's result code, copied from the lesson panel, and codes pasted together join the table; a mangled one is named", async ({
    page,
    context,
  }, info) => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    // The student: two guesses typed in the first step of Houses and apartments; the panel shows the code.
    await page.goto('./?lesson=houses-and-apartments&vms=0&containers=0');
    await panel(page).getByTestId('guess-guess.vm-boot-s').fill('30');
    await panel(page).getByTestId('guess-guess.container-start-s').fill('3');
    await expect(panel(page).getByTestId('lesson-code')).toHaveValue(/^SL1\.[A-Za-z0-9_-]{40,}$/);
    await expect(async () => {
      const before = await panel(page).getByTestId('lesson-code').inputValue();
      await panel(page).getByTestId('lesson-code-copy').click();
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(before);
    }).toPass({ timeout: 10_000 });
    const studentCode = await page.evaluate(() => navigator.clipboard.readText());
    expect(studentCode.length).toBeLessThan(200);

    // The teacher: that code, two more (one wrapped over lines as a chat app does), one mangled.
    const code = (vmMs: number, containerMs: number, cores: number) =>
      encodeResultCode(
        makeResult(
          'houses-and-apartments',
          3,
          [1, 2, 3],
          { 'guess.vm-boot-s': '10', 'guess.container-start-s': '1', 'race.vm-ms': String(vmMs), 'race.container-ms': String(containerMs) },
          cores,
        ),
      );
    const [dana, eli] = [await code(2900, 70, 8), await code(4100, 120, 16)];
    const mangled = dana.slice(0, 30) + (dana[30] === 'x' ? 'y' : 'x') + dana.slice(31);
    await page.goto('./?page=class');
    await page.getByTestId('class-codes').fill(`${studentCode}\n${dana}\n${eli.slice(0, 50)}\n${eli.slice(50)}\n${mangled}`);
    await page.getByTestId('class-codes-add').click();
    await expect(page.getByTestId('class-table').locator('tbody tr')).toHaveCount(3);
    await expect(page.getByTestId('class-problems')).toHaveText(
      'pasted code 4: the code is damaged or cut short (its checksum does not match): copy it again, whole',
    );
    // The student's code: no step checked yet, guesses only; eli's: every step, a 4.1 s boot.
    await expect(page.getByTestId('class-table').locator('tbody tr').first()).toContainText(/^code …\S{6}houses-and-apartments0\/3–/);
    await expect(page.getByTestId('class-table')).toContainText('4.1 s');
    await expect(page.getByTestId('class-codes')).toHaveValue('');

    // Files dropped beside them; then the whole table is readable on a projector: nothing cut.
    await page
      .getByTestId('class-files')
      .setInputFiles([{ name: 'stacklab-houses-and-apartments (ana).json', mimeType: 'application/json', buffer: result(2400, 61, 20) }]);
    await expect(page.getByTestId('class-table').locator('tbody tr')).toHaveCount(4);
    for (const [width, height] of [
      [1280, 720],
      [1600, 1000],
    ]) {
      await page.setViewportSize({ width, height });
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      await fullPageScreenshot(page, info.outputPath(`class-board-${width}x${height}.png`));
      const problems = await layoutProblems(page, ['[aria-label="Class board"]'], { scrollCuts: true });
      expect(
        problems.map((p) => `${p.kind}: ${p.text} ${p.other ?? ''} [${p.box}]`),
        `the class board at ${width}×${height}`,
      ).toEqual([]);
      const cores = page.getByTestId('class-table').locator('thead th').last();
      await expect(cores).toHaveText('cores');
      // Scrolled down to the table, its last column is on the screen whole: no sideways scrolling.
      await cores.scrollIntoViewIfNeeded();
      await expect(cores).toBeInViewport({ ratio: 1 });
      expect(await page.getByTestId('class-table').evaluate((t) => t.parentElement!.scrollWidth <= t.parentElement!.clientWidth)).toBe(true);
    }
  });
});
