// Two tabs, two LANs (issue 6): each page has its own switch (src/ui/lan), so VMs in one tab ping
// each other while a VM in the other tab, at the very same address, reaches neither.
import { test, expect, type Page } from '@playwright/test';
import { hasImages, shot, waitForTerminal } from './helpers.ts';

test.skip(!hasImages('vm/disk.img', 'bios/seabios.bin'), 'guest images not built (npm run images)');

/** Type on a lab machine's console through its session (no focus needed: the tabs stay in the background). */
async function typeOn(page: Page, id: string, text: string) {
  await page.evaluate(([id, text]) => (window as any).stacklab.lab.sessions.find((s: any) => s.id === id).type(text), [id, text] as const);
}

async function login(page: Page, id: string) {
  // The session's state, not the card: a background tab does not paint (no animation frames).
  await expect
    .poll(() => page.evaluate((id) => !!(window as any).stacklab.lab.sessions.find((s: any) => s.id === id)?.finish, id), {
      timeout: 150_000,
      message: `${id} reaches login:`,
    })
    .toBe(true);
  await typeOn(page, id, 'root\n');
  await waitForTerminal(page, id, /# $/m, 30_000);
}

const lanCounters = (page: Page) =>
  page.evaluate(() => {
    const lan = (window as any).stacklab.lan;
    return {
      tag: lan.tag as number,
      ports: lan.switch.portCount as number,
      received: lan.switch.counters.received as number,
      macs: (lan.switch.learnedMacs() as string[]).sort(),
    };
  });

test("two tabs' LANs do not see each other", async ({ context }, info) => {
  test.setTimeout(300_000);
  const tabA = await context.newPage();
  const tabB = await context.newPage();
  await tabA.goto('./?page=lab&vms=2&containers=0');
  await tabB.goto('./?page=lab&vms=1&containers=0');
  await Promise.all([login(tabA, 'vm1'), login(tabA, 'vm2'), login(tabB, 'vm1')]);

  // Same machine numbers, so the same addresses: 10.86.0.11 in both tabs, 10.86.0.12 only in A.
  await typeOn(tabA, 'vm1', 'ip -4 addr show eth0 | grep inet\n');
  await waitForTerminal(tabA, 'vm1', /inet 10\.86\.0\.11\//, 20_000);
  await typeOn(tabB, 'vm1', 'ip -4 addr show eth0 | grep inet\n');
  await waitForTerminal(tabB, 'vm1', /inet 10\.86\.0\.11\//, 20_000);

  const a0 = await lanCounters(tabA);
  const b0 = await lanCounters(tabB);
  expect(a0.ports).toBe(2);
  expect(b0.ports).toBe(1);
  expect(a0.tag).not.toBe(b0.tag);

  // Inside tab A: VM 1 reaches VM 2 through the page's switch.
  await typeOn(tabA, 'vm1', 'ping -c 3 10.86.0.12\n');
  const pingA = await waitForTerminal(tabA, 'vm1', /3 packets transmitted, \d+ packets received/, 60_000);
  expect(pingA).toMatch(/3 packets transmitted, [1-3] packets received/);
  expect(pingA).toMatch(/round-trip min\/avg\/max = [\d.]+\/[\d.]+\/[\d.]+ ms/);
  const a1 = await lanCounters(tabA);
  expect(a1.received).toBeGreaterThan(a0.received);

  // Tab B's VM asks for the same address: nobody on its LAN has it, and tab A's switch hears nothing.
  await typeOn(tabB, 'vm1', 'ping -c 3 -W 2 10.86.0.12\n');
  await waitForTerminal(tabB, 'vm1', /3 packets transmitted, 0 packets received/, 60_000);
  const a2 = await lanCounters(tabA);
  const b2 = await lanCounters(tabB);
  expect(b2.received).toBeGreaterThan(b0.received); // B's VM did send (ARP), on its own LAN
  // Each switch heard only its own tab's machines (the MACs carry the tab's LAN tag).
  const tagOf = (mac: string) => parseInt(mac.split(':').slice(2, 4).join(''), 16);
  expect(a2.macs).toHaveLength(2);
  expect(a2.macs.map(tagOf)).toEqual([a0.tag, a0.tag]);
  expect(b2.macs.map(tagOf)).toEqual([b0.tag]);

  // And no guest reaches a real network.
  await typeOn(tabA, 'vm2', 'ping -c 1 -W 2 1.1.1.1; echo "exit=$?"\n');
  await waitForTerminal(tabA, 'vm2', /^exit=1$/m, 30_000);
  await tabA.bringToFront();
  await shot(tabA, info, 'lan-tab-a');
  await tabB.bringToFront();
  await shot(tabB, info, 'lan-tab-b');
});
