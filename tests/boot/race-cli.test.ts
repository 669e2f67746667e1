// The headless race end to end: `npm run race` as a child process (worker threads running the
// page's machine worker), 1 VM + 2 containers, cold, read back through its --json export; and a bad
// argument rejected with exit code 2 before anything boots; an altered image refused by its sha256
// while the other machine finishes.
import { spawnSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RaceExport } from '../../src/core/machine/index.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CLI = ['--import', 'tsx', 'src/node/race-cli.ts'];

function race(args: string[], timeoutMs: number, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`race ${args.join(' ')} still running after ${timeoutMs} ms\n--- stderr ---\n${stderr.slice(-3000)}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('npm run race (headless)', () => {
  it('rejects a bad argument with exit code 2 and one clear line', () => {
    for (const [args, message] of [
      [['--vms', '9'], /^race: --vms must be from 0 to 6, got 9$/],
      [['--containers', 'x'], /^race: --containers must be a whole number from 0 to 12, got "x"$/],
      [['--speed', 'fast'], /^race: unknown option "--speed"/],
    ] as const) {
      const r = spawnSync(process.execPath, [...CLI, ...args], { cwd: REPO, encoding: 'utf8', timeout: 30_000 });
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr.trim()).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toBe('');
    }
  });

  it('races 1 VM and 2 containers to their prompts and exports the results', async () => {
    const r = await race(['--vms', '1', '--containers', '2', '--cold', '--json', '--timeout', '70'], 85_000);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as RaceExport;
    expect(out.app).toBe('stacklab');
    expect(out.setup).toBe('?vms=1&containers=2&mode=cold');
    const byKind = (k: string) => out.results.filter((x) => x.kind === k);
    expect(byKind('vm')).toHaveLength(1);
    expect(byKind('host')).toHaveLength(1);
    expect(byKind('container')).toHaveLength(2);
    for (const row of out.results) {
      expect(row.status, `${row.name}: ${row.explanation}`).toBe('finished');
      expect(row.rank).toBeGreaterThan(0);
      expect(row.bootMs).toBeGreaterThan(0);
      expect(row.instructions).toBeGreaterThan(0);
      expect(row.marks.length).toBeGreaterThan(1);
    }
    const [vm] = byKind('vm');
    // A whole PC boot: firmware, bootloader, kernel, init, services.
    expect(vm.instructions).toBeGreaterThan(1e6);
    expect(vm.marks.map((m) => m.phase)).toEqual(['bios', 'bootloader', 'kernel', 'init', 'services', 'login']);
    const [host] = byKind('host');
    const containers = byKind('container');
    // Cold: each container's time includes the host's boot, then its own start phases.
    for (const c of containers) {
      expect(c.bootMs!).toBeGreaterThan(host.bootMs!);
      expect(c.instructions!).toBeGreaterThan(host.instructions!);
      expect(c.marks[0].phase).toBe('host');
      expect(c.marks.at(-1)!.phase).toBe('prompt');
    }
    // Asked inside each guest after the race: own hostnames and PIDs, one shared kernel, not the VM's.
    expect(new Set(containers.map((c) => c.id)).size).toBe(2);
    expect(containers.map((c) => c.hostname)).toEqual(containers.map((c) => c.name));
    expect(new Set(containers.map((c) => c.pid)).size).toBe(2);
    expect(containers.every((c) => c.kernel && c.kernel === host.kernel)).toBe(true);
    expect(vm.kernel).toBeTruthy();
    expect(vm.kernel).not.toBe(host.kernel);
  }, 90_000);

  it('refuses an altered host initramfs by its sha256, clearly; the VM still finishes', async () => {
    // A copy of images/dist with one byte of the initramfs changed (the manifest keeps the true sha256).
    const dist = mkdtempSync(join(tmpdir(), 'stacklab-dist-'));
    try {
      cpSync(join(REPO, 'images/dist'), dist, { recursive: true });
      const initrd = join(dist, 'host/initramfs.cpio');
      const bytes = readFileSync(initrd);
      bytes[bytes.length >> 1] ^= 0x20;
      writeFileSync(initrd, bytes);
      const r = await race(['--vms', '1', '--containers', '1', '--json', '--timeout', '70'], 85_000, { STACKLAB_DIST: dist });
      expect(r.code, r.stderr).toBe(1);
      const rows = (JSON.parse(r.stdout) as RaceExport).results;
      const host = rows.find((x) => x.kind === 'host')!;
      expect(host.status).toBe('error');
      expect(host.explanation).toMatch(/initramfs.cpio does not match the sha256 in the build's manifest/);
      expect(rows.find((x) => x.kind === 'container')!.status).toBe('error');
      expect(rows.find((x) => x.kind === 'vm')!.status).toBe('finished');
    } finally {
      rmSync(dist, { recursive: true, force: true });
    }
  }, 90_000);
});
