// "Take it elsewhere" (issue 13, item 5). The VM side: a student writes a file in a VM in the page,
// clicks "Download disk", and the file they get is a real PC disk: qemu-system-i386 boots it to
// login: and the file is there, and `box run` works in it. Needs Debian's qemu-system-x86 (.ci/run installs it). The container
// side: "Download image" on a container hands over its image as an OCI archive that skopeo inspects
// and podman loads (Debian's skopeo and podman, .ci/run installs them).
// "Load image…" on the host takes such an archive back in (streamed over the mux, box load).
import { test, expect, type Page, type TestInfo } from '@playwright/test';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { card, hasContainerImages, hasImages, shot, waitForTerminal } from './helpers.ts';
import { layoutProblems, wrappedRows } from './layout-check.ts';
import { QEMU, qemuVmArgs } from '../../bench/qemu-peer.ts';

const haveQemu = spawnSync(QEMU, ['--version']).status === 0;
const have = (tool: string) => spawnSync(tool, ['--version']).status === 0;

/**
 * A root prompt at the end of the serial text: "# ", then maybe the OSC 133 mark PS1 adds
 * (images/vm/rootfs/etc/profile) and ash's cursor-position query (ESC [6n), left unanswered.
 */
const PROMPT_END = /# (?:\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b\[[0-9;?]*[A-Za-z])*$/;

/** Boot the disk in QEMU, log in as root, run `cmd`; the serial text after it. */
function runInQemu(disk: string, cmd: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(QEMU, qemuVmArgs(disk), { stdio: ['pipe', 'pipe', 'pipe'] });
    let serial = '';
    let step: 'login' | 'shell' | 'answer' = 'login';
    let mark = 0;
    const finish = (err?: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      if (err) reject(err);
      else resolve(serial.slice(mark));
    };
    const timer = setTimeout(() => finish(new Error(`QEMU: no ${step} within ${timeoutMs} ms\n${serial.slice(-1500)}`)), timeoutMs);
    child.stdout!.on('data', (b: Buffer) => {
      serial += b.toString('latin1');
      if (step === 'login' && /login: $/m.test(serial)) {
        step = 'shell';
        child.stdin!.write('root\n');
      } else if (step === 'shell' && PROMPT_END.test(serial)) {
        step = 'answer';
        mark = serial.length;
        child.stdin!.write(`${cmd}; echo @@done\n`);
      } else if (step === 'answer' && /\n@@done/.test(serial.slice(mark))) finish();
    });
    child.on('error', (e) => finish(e));
  });
}

/**
 * Records, in the page, every text the download's progress line (`[data-testid=<testid>-received]`)
 * shows, in order; read them with `progressTexts`. In the page, so no state is missed between polls.
 */
async function recordProgressTexts(page: Page, testid: string) {
  await page.evaluate((id) => {
    const texts: string[] = ((window as any).__progressTexts = []);
    new MutationObserver(() => {
      const text = document.querySelector(`[data-testid="${id}-received"]`)?.textContent ?? '';
      if (text && texts.at(-1) !== text) texts.push(text);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  }, testid);
}
const progressTexts = (page: Page): Promise<string[]> => page.evaluate(() => (window as any).__progressTexts);

/** Before the first byte the line says the download is starting, never "0.0 MiB" (a stuck look). */
function expectStartingFirst(texts: string[]) {
  expect(texts[0]).toBe('starting…');
  expect(texts).not.toContain('0.0 MiB');
}

test('Download disk hands over the VM disk with the guest’s writes, and QEMU boots it', async ({ page }, info) => {
  test.skip(!hasImages('vm/disk.img', 'bios/seabios.bin'), 'guest images not built (npm run images)');
  test.skip(!haveQemu, `${QEMU} is not installed (apt-get install qemu-system-x86)`);
  test.setTimeout(300_000);
  await page.goto('./?page=lab&vms=1&containers=0');
  await expect(card(page, 'vm1').getByTestId('flag')).toBeVisible({ timeout: 120_000 });
  const typeInto = async (text: string) => {
    await card(page, 'vm1').locator('.xterm').click();
    await page.keyboard.type(text);
  };
  await typeInto('root\n');
  await waitForTerminal(page, 'vm1', /# $/m, 30_000);
  const stamp = `made-in-the-page-${Date.now()}`;
  await typeInto(`echo ${stamp} > /root/from-the-page; sync; echo synced-$((6*7))\n`);
  await waitForTerminal(page, 'vm1', /^synced-42$/m, 30_000);

  const downloading = page.waitForEvent('download');
  await recordProgressTexts(page, 'download-disk');
  await card(page, 'vm1').getByTestId('download-disk').click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe('stacklab-vm1-disk.img');
  // The disk's size comes with its first slice: until then the bar is open-ended and says so.
  expectStartingFirst(await progressTexts(page));
  const file = info.outputPath('stacklab-vm1-disk.img');
  await download.saveAs(file);
  expect(statSync(file).size).toBe(statSync(new URL('../../images/dist/vm/disk.img', import.meta.url)).size);
  await shot(page, info, 'disk-downloaded');

  // And the runtime on it works there too (Docker in a VM): rcS starts boxd in the background.
  const answer = await runInQemu(
    file,
    'cat /root/from-the-page; n=0; until [ -S /run/boxd.sock ] || [ $n -ge 30 ]; do sleep 1; n=$((n+1)); done; box run busybox echo "box in qemu: $((6*7))"',
    240_000,
  );
  expect(answer).toContain(stamp);
  expect(answer).toMatch(/^box in qemu: 42\r?$/m);
});

const container = (page: Page, id: string) => page.locator(`section.container[data-machine="${id}"]`);

/** A lab with one container host and a container c1 on it; its "Download image" clicked, the download. */
async function downloadImageOfFirstContainer(page: Page) {
  await page.goto('./?page=lab&vms=0&containers=1');
  await expect(card(page, 'host').getByTestId('flag')).toBeVisible({ timeout: 200_000 });
  await card(page, 'host').getByTestId('add-container').click();
  await expect(container(page, 'c1')).toContainText('prompt in', { timeout: 60_000 });
  const downloading = page.waitForEvent('download', { timeout: 180_000 });
  await recordProgressTexts(page, 'download-image');
  await container(page, 'c1').getByTestId('download-image').click();
  // While boxd sends the archive over the mux the button says so (a fast answer may skip past it).
  return downloading;
}

/** Where podman keeps images for this test only: a throwaway root, never the machine's own store. */
function podmanLoad(file: string): string {
  const root = mkdtempSync(join(tmpdir(), 'podman-root-'));
  const runroot = mkdtempSync(join(tmpdir(), 'podman-run-'));
  try {
    const args = ['--root', root, '--runroot', runroot, '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'none'];
    const loaded = execFileSync('podman', [...args, 'load', '-i', file], { encoding: 'utf8' });
    const listed = execFileSync('podman', [...args, 'images', '--format', '{{.Repository}}:{{.Tag}} {{.Size}}'], { encoding: 'utf8' });
    return `${loaded}${listed}`;
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(runroot, { recursive: true, force: true });
  }
}

test('Download image hands over the container’s image as an OCI archive skopeo inspects and podman loads', async ({ page }, info) => {
  test.skip(!hasContainerImages(), 'container host images not built (npm run images)');
  test.skip(!have('skopeo'), 'skopeo is not installed (apt-get install skopeo)');
  test.setTimeout(300_000);
  const download = await downloadImageOfFirstContainer(page);
  expect(download.suggestedFilename()).toBe('stacklab-busybox.oci.tar');
  const texts = await progressTexts(page);
  expectStartingFirst(texts);
  console.log(`Download image: the progress line showed ${texts.join(' → ')}`);
  const dir = mkdtempSync(join(tmpdir(), 'image-download-'));
  try {
    const file = join(dir, download.suggestedFilename());
    await download.saveAs(file);
    await expect(container(page, 'c1').getByTestId('download-error')).toHaveCount(0);
    await shot(page, info, 'image-downloaded');

    // A real OCI layout in a tar: every blob matches its digest (skopeo checks the manifest's),
    // the layers skopeo lists are the manifest's.
    execFileSync('tar', ['-xf', file, '-C', dir]);
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    const manifest = JSON.parse(readFileSync(join(dir, 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8'));
    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci-archive:${file}`], { encoding: 'utf8' }));
    console.log(
      `skopeo inspect oci-archive:${download.suggestedFilename()} (${statSync(file).size} bytes):`,
      JSON.stringify({ Digest: inspect.Digest, Os: inspect.Os, Architecture: inspect.Architecture, Layers: inspect.Layers }),
    );
    expect(inspect.Digest).toBe(index.manifests[0].digest);
    expect(inspect.Layers).toEqual(manifest.layers.map((l: { digest: string }) => l.digest));
    expect(inspect.Layers.length).toBeGreaterThan(0);

    if (have('podman')) {
      const out = podmanLoad(file);
      console.log(`podman load -i ${download.suggestedFilename()}:\n${out}`);
      expect(out).toMatch(/Loaded image/);
    } else console.warn('podman not installed: its load check skipped (apt-get install podman)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * The host card with its load line, at the sizes a class uses (layout.spec.ts): text that overlaps,
 * is cut or covered, and rows of buttons that wrapped; a screenshot of each size. Back at 1600×1000 after.
 */
async function labLayoutProblems(page: Page, info: TestInfo, moment: string): Promise<string[]> {
  const found: string[] = [];
  for (const size of [
    { width: 1280, height: 720 },
    { width: 1600, height: 1000 },
  ]) {
    await page.setViewportSize(size);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const rows = ['article[data-machine="host"] > .work', 'article[data-machine="host"] > .load-status', 'article[data-machine="host"] > footer'];
    const problems = [...(await layoutProblems(page, [...rows, 'article[data-machine="host"] > header'])), ...(await wrappedRows(page, rows))];
    await page.screenshot({ path: info.outputPath(`layout-${moment}-${size.width}x${size.height}.png`) });
    for (const p of problems) found.push(`${moment} at ${size.width}×${size.height}: ${p.kind}: ${p.text}${p.other ? ` / ${p.other}` : ''} [${p.box}]`);
  }
  return found;
}

test('Load image… takes an OCI archive into the host with progress, and it runs; a truncated file or no tar gets one line; Cancel stops a load', async ({
  page,
}, info) => {
  test.skip(!hasContainerImages(), 'container host images not built (npm run images)');
  test.setTimeout(300_000);
  // An archive the page itself handed out, renamed (its index.json's ref), so loading it makes an image the host did not have.
  const download = await downloadImageOfFirstContainer(page);
  const dir = mkdtempSync(join(tmpdir(), 'image-upload-'));
  try {
    const saved = join(dir, 'saved.tar');
    await download.saveAs(saved);
    const layout = join(dir, 'layout');
    execFileSync('mkdir', ['-p', layout]);
    execFileSync('tar', ['-xf', saved, '-C', layout]);
    const indexPath = join(layout, 'index.json');
    writeFileSync(indexPath, readFileSync(indexPath, 'utf8').replaceAll('busybox:latest', 'moved:v1'));
    const moved = join(dir, 'moved.oci.tar');
    execFileSync('tar', ['-cf', moved, '-C', layout, 'oci-layout', 'index.json', 'blobs']);
    const bytes = readFileSync(moved);

    const host = card(page, 'host');
    await host.getByTestId('load-image-file').setInputFiles({ name: 'moved.oci.tar', mimeType: 'application/x-tar', buffer: bytes });
    await expect(host.getByTestId('load-image-result')).toHaveText('Loaded image: moved:v1', { timeout: 120_000 });
    await expect(host.getByTestId('load-image-error')).toHaveCount(0);
    await shot(page, info, 'image-loaded');
    await host.locator('.xterm').first().click();
    await page.keyboard.type('box run --rm moved:v1 echo moved-$((6*7))\n');
    await waitForTerminal(page, 'host', /^moved-42\r?$/m, 60_000);

    // Truncated (whole 512-byte blocks, so it still looks like a tar): box load's line, nothing loaded.
    const cut = bytes.subarray(0, Math.floor(bytes.length / 2 / 512) * 512);
    await host.getByTestId('load-image-file').setInputFiles({ name: 'cut.tar', mimeType: 'application/x-tar', buffer: Buffer.from(cut) });
    await expect(host.getByTestId('load-image-error')).toHaveText(
      /^Could not load cut.tar: box load: cut.tar: archive truncated at byte \d+: nothing was loaded$/,
      {
        timeout: 120_000,
      },
    );
    await host.getByTestId('load-image-file').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not an archive\n'.repeat(100)) });
    await expect(host.getByTestId('load-image-error')).toHaveText(/^Could not load notes.txt: notes.txt is not a tar archive/);
    await shot(page, info, 'image-load-refused');
    // boxd kept serving: another container starts from Start container (a card, right after the
    // screenshot: the click that once landed beside the button, see helpers.ts shot)...
    await host.getByTestId('add-container').click();
    await expect(container(page, 'c2')).toContainText('prompt in', { timeout: 60_000 });
    // ...and one asked from the host's shell runs.
    await host.locator('.xterm').first().click();
    await page.keyboard.type('box run --rm busybox echo served-$((6*7))\n');
    await waitForTerminal(page, 'host', /^served-42\r?$/m, 60_000);

    // Cancel: a load in flight (a valid archive with a 16 MiB blob, named big:v1, that takes boxd a
    // while) is aborted; the host says so in one line, nothing is loaded, boxd keeps serving.
    const blob = Buffer.alloc(16 * 1024 * 1024, 0x5a);
    const digest = createHash('sha256').update(blob).digest('hex');
    writeFileSync(join(layout, 'blobs/sha256', digest), blob);
    writeFileSync(indexPath, readFileSync(indexPath, 'utf8').replaceAll('moved:v1', 'big:v1'));
    const big = join(dir, 'big.oci.tar');
    execFileSync('tar', ['-cf', big, '-C', layout, 'oci-layout', 'index.json', 'blobs']);
    await host.getByTestId('load-image-file').setInputFiles({ name: 'big.oci.tar', mimeType: 'application/x-tar', buffer: readFileSync(big) });
    // Cancel in the same page task as the first progress tick, so it is mid-flight by construction
    // (not by how fast boxd is): what the bar and the buttons showed at that moment is recorded.
    const atClick = await host.evaluate(
      (card) =>
        new Promise<{ taken: number; total: number; cancelEnabled: boolean; loadDisabled: boolean }>((resolve) => {
          const q = <T extends Element>(id: string) => card.querySelector<T>(`[data-testid="${id}"]`);
          const tick = () => {
            const bar = card.querySelector<HTMLProgressElement>('.load-status progress');
            const cancel = q<HTMLButtonElement>('load-image-cancel');
            if (!bar || !cancel || bar.value <= 0) return void setTimeout(tick, 1);
            const at = { taken: bar.value, total: bar.max, cancelEnabled: !cancel.disabled, loadDisabled: !!q<HTMLButtonElement>('load-image')?.disabled };
            cancel.click();
            resolve(at);
          };
          tick();
        }),
    );
    expect(atClick.cancelEnabled).toBe(true);
    expect(atClick.loadDisabled).toBe(true);
    expect(atClick.taken).toBeGreaterThan(0);
    expect(atClick.taken).toBeLessThan(atClick.total);
    expect(atClick.total).toBe(statSync(big).size);
    expect(await labLayoutProblems(page, info, 'image-load-cancelling')).toEqual([]);
    await expect(host.getByTestId('load-image-error')).toHaveText(
      /^Cancelled: box load: big\.oci\.tar: aborted by the host after \d+ of \d+ bytes: nothing was loaded$/,
      { timeout: 60_000 },
    );
    await expect(host.getByTestId('load-image-cancel')).toHaveCount(0);
    await expect(host.getByTestId('load-image')).toBeEnabled();
    expect(await labLayoutProblems(page, info, 'image-load-cancelled')).toEqual([]);
    await host.getByTestId('add-container').click();
    await expect(container(page, 'c3')).toContainText('prompt in', { timeout: 60_000 });
    await host.locator('.xterm').first().click();
    await page.keyboard.type('box images | grep -c big; echo images-$((6*7))\n');
    await waitForTerminal(page, 'host', /^0\r?\n(?:.*\n)?images-42\r?$/m, 60_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
