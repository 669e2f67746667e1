// Docker in a VM (issue 13 item 4), booted for real: the VM's own 6.1 kernel has what containers
// need, its disk carries boxd, box and a busybox image, and rcS starts boxd in the background. From
// the VM's serial shell, as a student types: box run, box run -it, box ps; each container has its
// own PID 1, hostname and network behind the VM's box0. boxd here has no mux port (that is the
// container host's link to the page): it says so and serves the CLI.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { boot, DIST, Machine, shStatus, type Mark } from './harness.ts';
import { ARTIFACTS } from '../../src/core/artifacts.ts';
import { MARKERS } from '../../src/core/markers.ts';
import { BOXD_LOG, measureBoxStart } from '../../src/core/experiments/box-start.ts';

/** The committed VM disk carries boxd (images/build.sh vm-disk): the ext2 root has its store's index. */
function vmDiskHasBoxd(): boolean {
  try {
    const disk = readFileSync(join(DIST, ARTIFACTS.vmDisk));
    return disk.includes('/var/lib/box') && disk.includes('org.opencontainers.image.ref.name');
  } catch {
    return false;
  }
}

describe.skipIf(!vmDiskHasBoxd())('a VM runs containers: boxd and box on its disk (Docker in a VM)', () => {
  let m: Machine;
  let login: Mark;
  const sh = (cmd: string, timeoutMs = 60_000) => shStatus(m, cmd, timeoutMs);

  beforeAll(async () => {
    m = await boot('vm');
    login = await m.waitFor(MARKERS.login, 90_000, 'login');
    const from = m.serial.length;
    m.type('root\n');
    await m.waitFor(/# $/m, 20_000, 'shell', from);
    // boxd was started in the background by rcS, not waited for: give it a moment to listen.
    const ready = await sh(`n=0; until grep -q "boxd ready" ${BOXD_LOG} 2>/dev/null || [ $n -ge 60 ]; do sleep 1; n=$((n+1)); done; cat ${BOXD_LOG}`);
    expect(ready.out, 'boxd log').toMatch(/boxd ready/);
  });

  afterAll(async () => m?.stop());

  it('boxd starts without the mux port, says so once, and serves the CLI socket', async () => {
    const { out } = await sh(`cat ${BOXD_LOG}; ls -l /run/boxd.sock`);
    expect(out).toMatch(/no virtio port named virtio-1: serving \/run\/boxd\.sock only/);
    expect(out).toMatch(/1 images in \/var\/lib\/box\/oci/);
    expect(out).toMatch(/^s.* \/run\/boxd\.sock$/m);
    // login: came before boxd was ready: the VM's prompt does not wait for the runtime.
    console.log(`VM with boxd on board: login: at ${login.wallMs.toFixed(0)} ms, ${(login.instructions / 1e6).toFixed(1)} M instructions`);
  });

  it('box run busybox echo hi', async () => {
    const { out, code } = await sh('box run busybox echo hi');
    expect(code).toBe(0);
    expect(out.trim()).toBe('hi');
  });

  it('a container in the VM has its own PID 1, hostname, cgroup and network (box0 10.89.0.1/16)', async () => {
    const vmHost = (await sh('hostname')).out.trim();
    const { out, code } = await sh('box run busybox sh -c \'echo "pid=$$ host=$(hostname)"; cat /proc/self/cgroup; ip -4 addr show eth0; ps\'');
    expect(code).toBe(0);
    expect(out).toMatch(/^pid=1 host=[0-9a-f]{12}$/m);
    expect(out).not.toContain(`host=${vmHost}\n`);
    expect(out).toMatch(/^0::\/$/m); // its own cgroup namespace: its cgroup is its root
    expect(out).toMatch(/inet 10\.89\.0\.\d+\/16/);
    // Only its own processes: sh (PID 1) and ps; none of the VM's daemons.
    expect(out).not.toMatch(/syslogd|httpd|boxd/);
    expect((await sh('box run busybox ping -c 1 -W 5 10.89.0.1')).code).toBe(0);
  });

  it('box ps lists a detached container, box stop and rm remove it', async () => {
    expect((await sh('box run -d --name in-vm busybox sleep 100000')).code).toBe(0);
    const ps = await sh('box ps');
    expect(ps.code).toBe(0);
    expect(ps.out).toMatch(/^CONTAINER ID/m);
    expect(ps.out).toMatch(/^[0-9a-f]{12}\s+busybox\s+.*\bin-vm\s*$/m);
    expect((await sh('cat /sys/fs/cgroup/box/in-vm/memory.current')).out).toMatch(/^\d+$/m);
    expect((await sh('box rm -f in-vm')).code).toBe(0);
    expect((await sh('box ps -a')).out).not.toMatch(/in-vm/);
  });

  it('box run -it busybox sh on the VM serial console, and back to the VM shell on exit', async () => {
    const from = m.serial.length;
    m.type('box run -it --name vm-it busybox sh\n');
    try {
      m.type('echo "in"side-$$-$(hostname)\n');
      await m.waitFor(/^inside-1-[0-9a-f]{12}\r?$/m, 30_000, 'container shell', from);
      const at = m.serial.length;
      m.type('exit\n');
      // The VM's own prompt again (its PS1: "vm:~# "), then a command that runs in the VM.
      await m.waitFor(/vm:~# /, 30_000, 'VM prompt after exit', at);
      expect((await sh('hostname')).out.trim()).toBe('vm');
    } finally {
      await sh('box rm -f vm-it >/dev/null 2>&1; true');
    }
  });

  it('measures a container start inside the VM (boxd log, guest clock) and its memory.current', async () => {
    const r = await measureBoxStart(async (cmd) => {
      const { out, code } = await sh(cmd);
      return { output: out, exitCode: code };
    }, 'vm-start');
    expect(r.start.pid).toBeGreaterThan(1);
    expect(r.start.ms).toBeGreaterThan(0);
    expect(r.memoryBytes).toBeGreaterThan(0);
    console.log(`container start inside the VM: ${r.start.ms} ms (${JSON.stringify(r.start.phases)}), memory.current ${r.memoryBytes} bytes`);
  });
});
