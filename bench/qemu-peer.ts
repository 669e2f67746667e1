/**
 * The same guest files booted in QEMU (TCG, no KVM) as a peer for v86 in one benchmark run:
 * `npm run bench:boot -- --qemu`. Each stage is the moment its serial marker (src/core/markers.ts)
 * first appears on QEMU's serial line, read from its stdout.
 *
 * Wall ms count from the QEMU process's start, so they include QEMU's own start-up (loading the
 * files, building the machine: ~50–150 ms here), which v86's figures do not; the ratio is therefore
 * in QEMU's favour only by what its emulation is faster. QEMU has no guest instruction counter
 * without -icount (which changes its speed), so only wall time is compared.
 *
 * Machine: i440FX PC as QEMU's default, the same SeaBIOS file, the same memory as the profile,
 * an IDE disk (VM disk or host image store; -snapshot so nothing is written), and for the host a
 * virtio-serial port named as v86's so boxd serves the mux the same way.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ARTIFACTS } from '../src/core/artifacts.ts';
import { PROFILES, type MachineKind } from '../src/core/machine/profiles.ts';
import { MARKERS, type MarkerName } from '../src/core/markers.ts';
import { DIST, hostCmdline } from '../tests/boot/harness.ts';

export const QEMU = 'qemu-system-i386';

/** QEMU's version line, or undefined when it is not installed. */
export function qemuVersion(): string | undefined {
  const r = spawnSync(QEMU, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0] : undefined;
}

/** Install Debian's qemu-system-x86 when missing (root only); throws with the reason otherwise. */
export function ensureQemu(): string {
  let v = qemuVersion();
  if (v) return v;
  if (process.getuid?.() !== 0) throw new Error(`${QEMU} is missing: apt-get install qemu-system-x86`);
  console.error(`installing Debian's qemu-system-x86 for the peer run…`);
  const r = spawnSync(
    'sh',
    ['-c', 'apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends qemu-system-x86 >/dev/null'],
    { stdio: 'inherit' },
  );
  v = qemuVersion();
  if (r.status !== 0 || !v) throw new Error('could not install qemu-system-x86');
  return v;
}

const dist = (p: string) => join(DIST, p);
const commonArgs = (kind: MachineKind) => [
  '-accel',
  'tcg',
  '-m',
  String(PROFILES[kind].memoryMb),
  '-bios',
  dist(ARTIFACTS.seabios),
  '-display',
  'none',
  '-serial',
  'stdio',
  '-monitor',
  'none',
  '-net',
  'none',
  '-no-reboot',
  '-snapshot',
];

/** QEMU booting `diskPath` as a VM's IDE disk, serial on stdio, nothing written to the file (-snapshot). */
export function qemuVmArgs(diskPath: string): string[] {
  return [...commonArgs('vm'), '-drive', `file=${diskPath},format=raw,if=ide`];
}

function qemuArgs(kind: MachineKind): string[] {
  const common = commonArgs(kind);
  if (kind === 'vm') return qemuVmArgs(dist(ARTIFACTS.vmDisk));
  return [
    ...common,
    '-kernel',
    dist(ARTIFACTS.hostKernel),
    '-initrd',
    dist(ARTIFACTS.hostInitrd),
    '-append',
    hostCmdline(),
    '-drive',
    `file=${dist(ARTIFACTS.hostStore)},format=raw,if=ide`,
    '-device',
    'virtio-serial-pci',
    '-chardev',
    'null,id=mux',
    '-device',
    'virtconsole,chardev=mux,name=virtio-1',
  ];
}

/**
 * Boot `kind` once in QEMU and resolve with the wall ms (from process start) at which each stage's
 * marker appeared. Rejects with the serial tail when a stage is not reached within `timeoutMs`.
 */
export function bootInQemu(kind: MachineKind, stages: readonly MarkerName[], timeoutMs = 60_000): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child: ChildProcess = spawn(QEMU, qemuArgs(kind), { stdio: ['ignore', 'pipe', 'pipe'] });
    let serial = '';
    let stderr = '';
    const marks: Record<string, number> = {};
    const done = (err?: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      if (err) reject(err);
      else resolve(marks);
    };
    const timer = setTimeout(
      () => done(new Error(`QEMU ${kind}: no ${stages.filter((s) => !(s in marks)).join(', ')} within ${timeoutMs} ms\n${serial.slice(-2000)}${stderr}`)),
      timeoutMs,
    );
    child.stdout!.on('data', (b: Buffer) => {
      const now = performance.now() - t0;
      serial += b.toString('latin1');
      for (const s of stages) if (!(s in marks) && MARKERS[s].test(serial)) marks[s] = now;
      if (stages.every((s) => s in marks)) done();
    });
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', (err) => done(new Error(`could not start ${QEMU}: ${err.message}`)));
    child.on('exit', (code) => {
      if (!stages.every((s) => s in marks))
        done(new Error(`QEMU ${kind} exited (${code}) before ${stages.filter((s) => !(s in marks)).join(', ')}\n${serial.slice(-2000)}${stderr}`));
    });
  });
}
