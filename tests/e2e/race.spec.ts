// The race and the lab in a real browser: real v86 workers booting the committed images.
import { test, expect } from '@playwright/test';
import { loadavg, cpus } from 'node:os';
import { card, hasContainerImages, hasImages, shot, terminalText, waitForTerminal } from './helpers.ts';

test.skip(!hasImages('vm/disk.img', 'host/bzImage', 'host/initramfs.cpio', 'bios/seabios.bin'), 'guest images not built (npm run images)');

test('a 2 VM + 3 container race finishes with every flag and ranks the machines', async ({ page }, info) => {
  await page.addInitScript(() => {
    (window as any).__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) (window as any).__longTasks.push(Math.round(e.startTime) * 1e4 + Math.round(e.duration));
    }).observe({ type: 'longtask', buffered: true });
  });
  const t0 = Date.now();
  // Wall-clock task lengths only mean something when other processes are not holding the CPUs.
  const load = loadavg()[0];
  const busy = load > cpus().length;
  // Without OCI images in the host, boxd answers RUN with an error: the race then checks that
  // the error shows on the container's lane while every machine still finishes.
  const containers = hasContainerImages() ? ['c1', 'c2', 'c3'] : [];
  await page.goto(`./?vms=2&containers=${containers.length || 1}&autostart=1`);
  // Every machine and container gets a finish flag.
  for (const id of ['vm1', 'vm2', 'host', ...containers]) {
    await expect(card(page, id).getByTestId('flag')).toBeVisible({ timeout: 90_000 });
  }
  if (!containers.length) {
    console.log('no OCI images in the host initramfs: containers are expected to fail with a clear message');
    await expect(card(page, 'c1').getByTestId('error')).toContainText(/Unable to find image 'busybox'/, { timeout: 30_000 });
  }
  const machines = 3 + (containers.length || 1);
  // The default race: the host booted before it, on its own lane, paid once and not ranked.
  await expect(card(page, 'host').getByTestId('paid-once')).toBeVisible();
  if (containers.length) {
    await expect(page.getByTestId('summary')).toContainText(
      /^Container c\d started in [\d,.]+ m?s, from its request to its prompt; the fastest VM, VM \d, needed [\d,.]+ m?s from power-on to login \(\d+\.\d× as long\)\./,
    );
    await expect(page.getByTestId('summary')).toContainText(
      /The container host booted once, before the race, in [\d,.]+ m?s: paid once for all 3 containers; with that boot, c\d took [\d,.]+ m?s, against the fastest VM's [\d,.]+ m?s \(\d+\.\d×\)\./,
    );
  }
  const results = page.getByTestId('results');
  await expect(results.locator('tbody tr')).toHaveCount(machines);
  // The host's row first, unranked; every finisher after it ranked, every row with its one-line explanation.
  const rows = await results.locator('tbody tr').all();
  await expect(rows[0]).toHaveAttribute('data-machine', 'host');
  for (const [i, row] of rows.entries()) {
    await expect(row.locator('td.rank')).toHaveText(i > 0 && i < 3 + containers.length ? String(i) : '–');
    await expect(row.locator('td.why')).not.toBeEmpty();
  }
  // Each container's own start, and the same plus the host's one boot.
  for (const id of containers) {
    const row = results.locator(`tr[data-machine="${id}"]`);
    await expect(row.getByTestId('own')).toHaveText(/^[\d,.]+ m?s$/);
    await expect(row.getByTestId('with-host')).toHaveText(/^[\d,.]+ m?s$/);
  }
  const startup = await page.evaluate(() => {
    const ss = (window as any).stacklab.race.sessions;
    return {
      firstPowerOnMs: Math.min(...ss.map((s: any) => s.powerOnEpoch)) - performance.timeOrigin,
      requestedMs: Math.min(...ss.map((s: any) => s.requestedEpoch)) - performance.timeOrigin,
    };
  });
  console.log(`navigation → race requested ${startup.requestedMs.toFixed(0)} ms, → first power-on ${startup.firstPowerOnMs.toFixed(0)} ms`);
  const figures = await page.evaluate(() =>
    (window as any).stacklab.race
      .results()
      .map((r: any) => ({ id: r.id, bootMs: r.bootMs, instructions: r.instructions, phases: r.marks.map((m: any) => m.phase) })),
  );
  for (const f of figures.filter((f: any) => f.bootMs !== undefined)) {
    expect(f.bootMs).toBeGreaterThan(0);
    // Instructions are counted per emulator; containers share the host's CPU, so they have none of their own.
    if (!/^c\d$/.test(f.id)) expect(f.instructions).toBeGreaterThan(1_000_000);
  }
  expect(figures.find((f: any) => f.id === 'vm1').phases).toEqual(['bios', 'bootloader', 'kernel', 'init', 'services', 'login']);
  console.log(`race figures: ${JSON.stringify(figures)}`);
  if (containers.length) {
    expect(figures.find((f: any) => f.id === 'c1').phases).toEqual(['request', 'layers', 'namespaces', 'mounts', 'cgroup', 'network', 'exec', 'prompt']);
    // On a running host every container's own start beats every VM's boot.
    const slowestContainer = Math.max(...figures.filter((f: any) => /^c\d$/.test(f.id)).map((f: any) => f.bootMs));
    const fastestVm = Math.min(...figures.filter((f: any) => /^vm\d$/.test(f.id)).map((f: any) => f.bootMs));
    expect(fastestVm).toBeGreaterThan(slowestContainer);
    // The pre-booted host's row carries its own boot, and each container's figure with it adds up.
    const rows = await page.evaluate(() =>
      (window as any).stacklab.race
        .results()
        .map((r: any) => ({ id: r.id, bootMs: r.bootMs, own: r.ownStartMs, withHost: r.withHostBootMs, beforeRace: r.beforeRace })),
    );
    const host = rows.find((r: any) => r.id === 'host');
    expect(host.beforeRace).toBe(true);
    for (const c of rows.filter((r: any) => /^c\d$/.test(r.id))) expect(c.withHost).toBeCloseTo(host.bootMs + c.own, 6);
  }
  console.log(`race figures: ${JSON.stringify(figures)} (test wall ${Date.now() - t0} ms)`);
  // Encoded as start * 1e4 + duration to keep the observer tiny.
  const tasks = (await page.evaluate(() => (window as any).__longTasks as number[])).map((x) => ({ at: Math.floor(x / 1e4), ms: x % 1e4 }));
  const longTasks = tasks.map((t) => t.ms);
  console.log(`main-thread long tasks during the race: ${tasks.map((t) => `${t.ms} ms at ${t.at} ms`).join(', ') || 'none'}`);
  // Issue target: none over 100 ms (the figure printed above). Under CI load a descheduled task
  // stretches in wall time, so the gate only catches real freezes.
  if (busy) console.log(`load average ${load.toFixed(1)} on ${cpus().length} cores before the race: long-task gate not applied`);
  else expect(Math.max(0, ...longTasks), 'longest main-thread task during the race').toBeLessThan(1000);
  await shot(page, info, 'race-finished');
});

test("cold mode is one click away: the host boots inside the race and each container's time includes it", async ({ page }, info) => {
  test.skip(!hasContainerImages(), 'no OCI images in images/dist yet');
  await page.goto('./?vms=1&containers=2');
  await expect(page.getByTestId('mode-warm')).toBeChecked();
  await page.getByTestId('mode-cold').check();
  await expect(page).toHaveURL(/mode=cold/);
  await page.getByTestId('start').click();
  for (const id of ['vm1', 'host', 'c1', 'c2']) await expect(card(page, id).getByTestId('flag')).toBeVisible({ timeout: 90_000 });
  await expect(card(page, 'host').getByTestId('paid-once')).toHaveCount(0);
  await expect(page.getByTestId('summary')).toContainText(/The container host booted once, inside the race, in [\d,.]+ m?s: paid once for all 2 containers/);
  const rows = await page.evaluate(() =>
    (window as any).stacklab.race
      .results()
      .map((r: any) => ({ id: r.id, rank: r.rank, bootMs: r.bootMs, own: r.ownStartMs, withHost: r.withHostBootMs, phases: r.marks.map((m: any) => m.phase) })),
  );
  const host = rows.find((r: any) => r.id === 'host');
  expect(host.rank).toBeGreaterThan(0);
  for (const c of rows.filter((r: any) => /^c\d$/.test(r.id))) {
    expect(c.phases[0]).toBe('host');
    // Measured on one clock from the host's power-on: its boot, then the container's own start.
    expect(c.withHost).toBe(c.bootMs);
    expect(c.bootMs).toBeGreaterThan(host.bootMs + c.own - 1);
  }
  await shot(page, info, 'race-cold');
});

test('typing uname -r in a VM terminal shows its 6.1 kernel', async ({ page }, info) => {
  await page.goto('./?vms=1&containers=0&autostart=1');
  await expect(card(page, 'vm1').getByTestId('flag')).toBeVisible({ timeout: 90_000 });
  await card(page, 'vm1').getByTestId('open-terminal').click();
  await expect(page.getByTestId('terminal-drawer')).toBeVisible();
  await page.keyboard.type('root\n');
  await waitForTerminal(page, 'vm1', /# $/m, 30_000);
  await page.keyboard.type('uname -r\n');
  const text = await waitForTerminal(page, 'vm1', /^6\.1\.\d+$/m, 30_000);
  expect(text).not.toMatch(/^6\.12\./m);
  await shot(page, info, 'vm-uname');
});

test("the container host runs its own 6.12 kernel, not the VM's 6.1", async ({ page }, info) => {
  await page.goto('./?vms=1&containers=1&autostart=1');
  await expect(card(page, 'host').getByTestId('flag')).toBeVisible({ timeout: 90_000 });
  await card(page, 'host').getByTestId('open-terminal').click();
  // The boot already left a prompt on screen: wait for the one this Enter brings, or the command
  // is typed before ash has printed it (and its cursor query's answer lands in uname's output).
  const prompts = async () => (await terminalText(page, 'host')).match(/^host:\/# ?$/gm)?.length ?? 0;
  const before = await prompts();
  await page.keyboard.type('\n');
  await expect.poll(prompts, { timeout: 30_000 }).toBeGreaterThan(before);
  await page.keyboard.type('uname -r\n');
  await waitForTerminal(page, 'host', /^6\.12\.\d+$/m, 30_000);
  await page.getByRole('button', { name: 'Close' }).click();
  await expect(card(page, 'vm1').getByTestId('flag')).toBeVisible({ timeout: 90_000 });
  await card(page, 'vm1').getByTestId('open-terminal').click();
  await page.keyboard.type('root\n');
  await waitForTerminal(page, 'vm1', /# $/m, 30_000);
  await page.keyboard.type('uname -r\n');
  await waitForTerminal(page, 'vm1', /^6\.1\.\d+$/m, 30_000);
  await shot(page, info, 'two-kernels');
});

test('containers: uname -r is the host kernel in each, hostnames differ', async ({ page }, info) => {
  test.skip(!hasContainerImages(), 'no OCI images in images/dist yet');
  // The default mode: containers on a host that is already running.
  await page.goto('./?vms=0&containers=2&autostart=1');
  for (const id of ['c1', 'c2']) await expect(card(page, id).getByTestId('flag')).toBeVisible({ timeout: 90_000 });
  const seen: Record<string, string> = {};
  for (const id of ['c1', 'c2']) {
    await card(page, id).getByTestId('open-terminal').click();
    await page.keyboard.type('echo "$(hostname) $(uname -r)"\n');
    const text = await waitForTerminal(page, id, /^c\d 6\.12\.\d+$/m, 30_000);
    seen[id] = /^(c\d) 6\.12\.\d+$/m.exec(text)![1];
    await page.getByRole('button', { name: 'Close' }).click();
  }
  expect(seen).toEqual({ c1: 'c1', c2: 'c2' });
  await shot(page, info, 'containers');
});

test('a bad disk URL shows a clear error on its card while the others finish', async ({ page }, info) => {
  await page.goto('./?vms=2&containers=0&vm2.disk=images/vm/missing.img&autostart=1');
  const bad = card(page, 'vm2');
  await expect(bad.getByTestId('error')).toContainText(/disk image not found: HTTP 404 for missing\.img/, { timeout: 30_000 });
  await expect(card(page, 'vm1').getByTestId('flag')).toBeVisible({ timeout: 90_000 });
  await expect(bad.getByTestId('flag')).toHaveCount(0);
  await expect(page.getByTestId('results').locator('tbody tr').last()).toContainText('did not boot');
  await shot(page, info, 'bad-disk');
});

test('bad URL parameters show a readable message, never a blank page', async ({ page }, info) => {
  await page.goto('./?vms=9&mode=hot');
  const box = page.getByTestId('config-errors');
  await expect(box).toContainText('vms must be from 0 to 6, got 9');
  await expect(box).toContainText('mode must be "cold" or "warm", got "hot"');
  await expect(page.getByTestId('start')).toBeVisible();
  await shot(page, info, 'bad-params');
});
