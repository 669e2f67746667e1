// Boot each guest once from the committed images and record in the manifest how many bytes of its
// lazily read disk the boot fetched: the VM's disk up to login:, the host's image store up to
// "host ready" and then for one `box run busybox` (the page fetches the same chunks over HTTP).
// Run by `npm run images` (images/build.sh measure). The machines are the page's own runtime in
// Node worker threads (src/node/machine.ts), reading images/dist ($STACKLAB_DIST) by byte ranges.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS } from '../src/core/artifacts.ts';
import { DIST, distUrls } from '../src/node/dist.ts';
import { HeadlessMachine } from '../src/node/machine.ts';

const sha = (file: string) => createHash('sha256').update(readFileSync(join(DIST, file))).digest('hex');
const set = (...kv: string[]) => execFileSync('node', ['images/manifest.mjs', 'set', ...kv], { stdio: 'inherit' });
const urls = distUrls(DIST);
const wasm = await WebAssembly.compile(readFileSync(new URL(urls.wasm)));

/** A powered-on machine at its finish marker (login:, host ready), and its disk's counters then. */
async function bootToFinish(kind: 'vm' | 'host') {
  const m = new HeadlessMachine({ id: `measure-${kind}`, name: kind, kind }, urls, wasm);
  await m.powerOn();
  const finish = await m.finished.promise;
  const disk = await m.control!.diskStats();
  if (!disk) throw new Error(`${kind}: no lazily read disk`);
  return { m, finish, disk };
}

const vm = await bootToFinish('vm');
await vm.m.dispose();
const v = vm.disk;
console.log(`VM boot to login: ${vm.finish.wallMs.toFixed(0)} ms, fetched ${v.bytesFetched} of ${v.size} disk bytes (chunks of ${v.chunkBytes})`);
set(
  `measured/vmBootDiskFetch/bytes=${v.bytesFetched}`,
  `measured/vmBootDiskFetch/chunkBytes=${v.chunkBytes}`,
  `measured/vmBootDiskFetch/diskBytes=${v.size}`,
  `measured/vmBootDiskFetch/diskSha256=${sha(ARTIFACTS.vmDisk)}`,
);

const host = await bootToFinish('host');
const atReady = host.disk.bytesFetched;
// The output line, not the typed command's echo (which has the text after "echo ").
await host.m.control!.expect(0, '\nbox run busybox echo from-the-store 2>&1\n', '(^|\\n)from-the-store\\r?\\n', 60_000);
const afterRun = (await host.m.control!.diskStats())!.bytesFetched;
await host.m.dispose();
console.log(`host boot to ready: ${host.finish.wallMs.toFixed(0)} ms, fetched ${atReady} of ${host.disk.size} store bytes; after one box run busybox: ${afterRun}`);
set(
  `measured/hostStoreFetch/bootBytes=${atReady}`,
  `measured/hostStoreFetch/firstRunBytes=${afterRun}`,
  `measured/hostStoreFetch/chunkBytes=${host.disk.chunkBytes}`,
  `measured/hostStoreFetch/storeBytes=${host.disk.size}`,
  `measured/hostStoreFetch/storeSha256=${sha(ARTIFACTS.hostStore)}`,
);
process.exit(0);
