// Boot each guest once from the committed images and record in the manifest how many bytes of its
// lazily read disk the boot fetched: the VM's disk up to login:, the host's image store up to
// "host ready" and then for one `box run busybox` (the page fetches the same chunks over HTTP).
// Run by `npm run images`.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Machine, DIST } from '../boot/harness.ts';
import { MARKERS } from '../../src/core/markers.ts';
import { ARTIFACTS } from '../../src/core/artifacts.ts';

const sha = (file: string) => createHash('sha256').update(readFileSync(`${DIST}/${file}`)).digest('hex');
const set = (...kv: string[]) => execFileSync('node', ['images/manifest.mjs', 'set', ...kv], { stdio: 'inherit' });

const vm = new Machine('vm');
const login = await vm.waitFor(MARKERS.login, 60_000, 'login');
const v = vm.disk!.stats();
await vm.stop();
console.log(`VM boot to login: ${login.wallMs.toFixed(0)} ms, fetched ${v.bytesFetched} of ${vm.disk!.byteLength} disk bytes (${v.chunksFetched} chunks of ${vm.disk!.chunkSize})`);
set(
  `measured/vmBootDiskFetch/bytes=${v.bytesFetched}`,
  `measured/vmBootDiskFetch/chunkBytes=${vm.disk!.chunkSize}`,
  `measured/vmBootDiskFetch/diskBytes=${vm.disk!.byteLength}`,
  `measured/vmBootDiskFetch/diskSha256=${sha(ARTIFACTS.vmDisk)}`,
);

const host = new Machine('host');
const ready = await host.waitFor(MARKERS.hostReady, 60_000, 'host ready');
const atReady = host.disk!.stats().bytesFetched;
host.type('\n');
const out = await host.run('box run busybox echo from-the-store 2>&1', 60_000);
if (!out.includes('from-the-store')) throw new Error(`box run busybox failed:\n${out}`);
const afterRun = host.disk!.stats().bytesFetched;
await host.stop();
console.log(`host boot to ready: ${ready.wallMs.toFixed(0)} ms, fetched ${atReady} of ${host.disk!.byteLength} store bytes; after one box run busybox: ${afterRun}`);
set(
  `measured/hostStoreFetch/bootBytes=${atReady}`,
  `measured/hostStoreFetch/firstRunBytes=${afterRun}`,
  `measured/hostStoreFetch/chunkBytes=${host.disk!.chunkSize}`,
  `measured/hostStoreFetch/storeBytes=${host.disk!.byteLength}`,
  `measured/hostStoreFetch/storeSha256=${sha(ARTIFACTS.hostStore)}`,
);
process.exit(0);
