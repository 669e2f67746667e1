// The two stacks work together (issue 13, items 2 and 3): the container host joins the page's LAN
// as 10.86.0.2 and routes the VMs to its containers' 10.88.0.0/16, so a container fetches a VM's
// httpd page and a VM fetches a page from a container's port published with `box run -p`, through
// boxd's port proxy (docker-proxy's design). Real boots, one switch, nothing leaves the process.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { boot, Machine } from './harness.ts';
import { MARKERS } from '../../src/core/markers.ts';
import { EthernetSwitch, HOST_LAN_ADDRESS, lanMac, vmAddressForMac } from '../../src/core/lan/index.ts';
import { parseSentinel, sentinelLine } from '../../src/core/experiments/shell.ts';

let seq = 0;
/** Run one command line on a machine's serial shell; its output and exit code. */
async function run(m: Machine, cmd: string, timeoutMs = 60_000): Promise<{ output: string; exitCode: number }> {
  const n = ++seq;
  const from = m.serial.length;
  m.type(sentinelLine(cmd, n));
  await m.waitFor(new RegExp(`@@end-${n}:\\d+\\r?\\n`), timeoutMs, `run ${cmd}`, from);
  return parseSentinel(m.serial.slice(from), n)!;
}

const lan = new EthernetSwitch();
const VM_MAC = lanMac(7, 1);
const HOST_MAC = lanMac(7, 2);
const vmAddress = vmAddressForMac(VM_MAC);
let vm: Machine, host: Machine;

beforeAll(async () => {
  vm = await boot('vm', { lan: { switch: lan, mac: VM_MAC, nic: 'virtio' } });
  host = await boot('host', { lan: { switch: lan, mac: HOST_MAC, nic: 'virtio' } });
  await Promise.all([
    vm.waitFor(MARKERS.login, 240_000, 'login').then(async () => {
      const from = vm.serial.length;
      vm.type('root\n');
      await vm.waitFor(/# $/m, 30_000, 'vm shell', from);
      await run(vm, 'stty -echo');
    }),
    host.waitFor(MARKERS.hostReady, 240_000, 'host ready').then(async () => {
      host.type('\n');
      await host.waitFor(/# $/m, 20_000, 'host shell');
      await run(host, 'stty -echo');
    }),
  ]);
}, 300_000);

afterAll(async () => {
  await Promise.all([vm, host].map((m) => m?.stop().catch(() => {})));
});

describe('the container host on the page LAN', () => {
  it('has 10.86.0.2 on eth0 and forwards; the VM routes 10.88.0.0/16 through it', async () => {
    const addr = await run(host, 'ip -4 addr show eth0; cat /proc/sys/net/ipv4/ip_forward');
    expect(addr.output).toContain(`inet ${HOST_LAN_ADDRESS}/24`);
    expect(addr.output.trim().endsWith('1')).toBe(true);
    const route = await run(vm, 'ip route');
    expect(route.output).toMatch(new RegExp(`10\\.88\\.0\\.0/16 via ${HOST_LAN_ADDRESS.replace(/\./g, '\\.')} dev eth0`));
  });

  it('a container fetches the page of a VM httpd (routed through the host, no NAT)', async () => {
    // No -T: the images' busybox is Debian's, whose wget -T crashes (images/busybox fixes the host's).
    const r = await run(host, `box run --name fetch busybox wget -q -O - http://${vmAddress}/ 2>&1; box rm fetch >/dev/null`);
    expect(r.output).toMatch(/<h1>Hello from a stacklab VM<\/h1>/);
    expect(r.exitCode).toBe(0);
  });

  it('box run -p: a VM fetches the page from the published port; ps, port and inspect show it', async () => {
    const started = await run(host, 'box run -d --name site -p 8080:80 web');
    expect(started.exitCode).toBe(0);
    const page = await run(vm, `wget -q -T 10 -O - http://${HOST_LAN_ADDRESS}:8080/`);
    expect(page.output).toContain('<title>stacklab web</title>');
    expect(page.exitCode).toBe(0);
    // The container's own address answers too: the VM's route reaches box0 directly.
    const ip = (await run(host, 'box inspect site | sed -n \'s/.*"IPAddress": "\\([0-9.]*\\)".*/\\1/p\'')).output.trim();
    expect(ip).toMatch(/^10\.88\./);
    expect((await run(vm, `wget -q -T 10 -O - http://${ip}/`)).output).toContain('<title>stacklab web</title>');
    expect((await run(host, 'box port site')).output.trim()).toBe('80/tcp -> 0.0.0.0:8080');
    expect((await run(host, 'box ps')).output).toMatch(/0\.0\.0\.0:8080->80\/tcp +site/);
    expect((await run(host, 'box inspect site')).output).toContain('"Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}');
  });

  it('a port already published is refused in Docker words; a bad -p too; boxd keeps serving', async () => {
    const taken = await run(host, 'box run -d --name site2 -p 8080:80 web');
    expect(taken.output).toContain('Bind for 0.0.0.0:8080 failed: port is already allocated');
    expect(taken.exitCode).toBe(125);
    const bad = await run(host, 'box run -p 80:http web');
    expect(bad.output).toContain('invalid containerPort: http');
    expect(bad.exitCode).toBe(125);
    // Still serving, and the first container still answers the VM.
    expect((await run(vm, `wget -q -T 10 -O - http://${HOST_LAN_ADDRESS}:8080/`)).exitCode).toBe(0);
    expect((await run(host, 'box ps -a -q | wc -l')).exitCode).toBe(0);
  });

  it('after box stop the port is free again: refused, then publishable by another container', async () => {
    await run(host, 'box stop -t 0 site >/dev/null');
    const refused = await run(vm, `wget -q -T 5 -O - http://${HOST_LAN_ADDRESS}:8080/`);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.output).toMatch(/Connection refused/);
    expect((await run(host, 'box port site')).output.trim()).toBe('');
    expect((await run(host, 'box rm -f site2 >/dev/null 2>&1; box run -d --name site3 -p 8080:80 web')).exitCode).toBe(0);
    expect((await run(vm, `wget -q -T 10 -O - http://${HOST_LAN_ADDRESS}:8080/`)).output).toContain('<title>stacklab web</title>');
    await run(host, 'box rm -f site site3 >/dev/null');
    expect((await run(host, 'pgrep -f box-proxy || echo none')).output.trim()).toBe('none');
  });
});
