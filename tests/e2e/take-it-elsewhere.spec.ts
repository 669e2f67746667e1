// "Take it elsewhere" (issue 13, item 5), the VM side: a student writes a file in a VM in the page,
// clicks "Download disk", and the file they get is a real PC disk: qemu-system-i386 boots it to
// login: and the file is there, and `box run` works in it. Needs Debian's qemu-system-x86 (.ci/run installs it).
import { test, expect } from '@playwright/test';
import { spawn, spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { card, hasImages, shot, waitForTerminal } from './helpers.ts';
import { QEMU, qemuVmArgs } from '../../bench/qemu-peer.ts';

const haveQemu = spawnSync(QEMU, ['--version']).status === 0;
test.skip(!hasImages('vm/disk.img', 'bios/seabios.bin'), 'guest images not built (npm run images)');
test.skip(!haveQemu, `${QEMU} is not installed (apt-get install qemu-system-x86)`);

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

test('Download disk hands over the VM disk with the guest’s writes, and QEMU boots it', async ({ page }, info) => {
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
  await card(page, 'vm1').getByTestId('download-disk').click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe('stacklab-vm1-disk.img');
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
