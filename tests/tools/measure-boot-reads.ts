// Boot the committed VM disk to login: once and record in the manifest how many bytes of the
// disk that boot fetched (the page fetches the same chunks over HTTP). Run by `npm run images`.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Machine, DIST } from '../boot/harness.ts';
import { MARKERS } from '../../src/core/markers.ts';

const m = new Machine('vm');
const mark = await m.waitFor(MARKERS.login, 60_000, 'login');
const { bytesFetched, chunksFetched } = m.disk!.stats();
await m.stop();
const sha = createHash('sha256').update(readFileSync(`${DIST}/vm/disk.img`)).digest('hex');
console.log(`VM boot to login: ${mark.wallMs.toFixed(0)} ms, fetched ${bytesFetched} of ${m.disk!.byteLength} disk bytes (${chunksFetched} chunks of ${m.disk!.chunkSize})`);
execFileSync('node', [
  'images/manifest.mjs', 'set',
  `measured/vmBootDiskFetch/bytes=${bytesFetched}`,
  `measured/vmBootDiskFetch/chunkBytes=${m.disk!.chunkSize}`,
  `measured/vmBootDiskFetch/diskBytes=${m.disk!.byteLength}`,
  `measured/vmBootDiskFetch/diskSha256=${sha}`,
], { stdio: 'inherit' });
process.exit(0);
