// Writes vectors.txt, the shared test vectors of the box mux (PROTOCOL.md). Run: node src/core/mux/make-vectors.mjs
// CRCs come from node:zlib (not from either codec under test); every expectation is written out by
// hand below, so a vector says what the spec means, not what a decoder happens to do.
import { crc32 } from 'node:zlib';
import { writeFileSync } from 'node:fs';

/** A hex string that may hold rep(<hex>,<count>) runs, as bytes. */
function bytes(spec) {
  const out = [];
  for (const m of spec.matchAll(/rep\(([0-9a-f]*),(\d+)\)|([0-9a-f]{2})/g)) {
    if (m[3]) out.push(parseInt(m[3], 16));
    else for (let i = 0; i < +m[2]; i++) for (const b of Buffer.from(m[1], 'hex')) out.push(b);
  }
  return Buffer.from(out);
}
const u32 = (n) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b.toString('hex');
};
const i32 = (n) => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return b.toString('hex');
};
const u64 = (n) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b.toString('hex');
};
const u16 = (n) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b.toString('hex');
};
const txt = (s) => Buffer.from(s, 'utf8').toString('hex');
const argv = (...a) => txt(a.map((s) => `${s}\0`).join(''));

/** Hex of a whole frame; payload may use rep(); `length`/`crc` override the real ones. */
function frame(type, channel, payload = '', { version = 1, length, crc, magic = 'b058' } = {}) {
  const p = bytes(payload);
  const head = Buffer.from(magic + version.toString(16).padStart(2, '0') + type.toString(16).padStart(2, '0') + u32(channel) + u32(length ?? p.length), 'hex');
  const sum = crc ?? crc32(p, crc32(head));
  return head.toString('hex') + u32(sum) + payload;
}
const exp = (type, channel, payload = '') => `frame:${type.toString(16).padStart(2, '0')}:${channel}:${payload}`;

const started = u32(4242) + u32(7) + [1e9, 1e9 + 1, 1e9 + 20, 1e9 + 300, 1e9 + 4000, 1e9 + 50000, 1e9 + 600000].map(u64).join('');
const stats = u64(1536 * 1024) + u64(12345) + u32(3) + u32(4242);
const v = [];
const add = (name, hex, ...expect) => v.push(`${name}|${hex}|${expect.join(' ')}`);
const ok = (name, type, channel, payload = '') => add(name, frame(type, channel, payload), exp(type, channel, payload));

// One of every type, with a payload shaped as PROTOCOL.md says.
ok('hello', 0x01, 0);
ok('run', 0x10, 1, argv('--name', 'c1', 'busybox', 'sh'));
ok('input', 0x11, 1, txt('ls\n'));
ok('resize', 0x12, 1, u16(80) + u16(24));
ok('signal', 0x13, 1, '0f');
ok('remove', 0x14, 1);
ok('stats-all', 0x15, 0);
ok('credit', 0x16, 1, u32(65536));
ok('exec', 0x17, 2, u32(1) + argv('ps'));
ok('cmd', 0x18, 100, argv('diff', 'c1'));
ok('host-exec', 0x19, 3, argv('sh', '-c', 'test -f /root/x'));
ok('load', 0x1a, 5, u64(1048576) + txt('app.oci.tar'));
ok('load-data', 0x1b, 5, u64(65528) + 'rep(5a,40)');
ok('load-abort', 0x1c, 5);
ok('ready', 0x80, 0, u64(123456789) + txt('boxd 1'));
ok('output', 0x81, 1, txt('/ # '));
ok('exit', 0x82, 1, i32(0x0900));
ok('stats-reply', 0x83, 1, stats);
ok('started', 0x84, 1, started);
ok('error', 0x85, 1, u32(2) + txt('no such image: nope'));
ok('first-output', 0x86, 1, u64(1000650000));
ok('result', 0x87, 100, i32(0) + txt('C /tmp/x\n'));
ok('result-negative-code', 0x87, 101, i32(-1) + txt('é'));
ok('load-ack', 0x88, 5, u64(262144));
ok('unknown-type-delivered', 0x42, 7, 'ff');
ok('type-ff', 0xff, 1);
ok('channel-max', 0x11, 0xffffffff, '00');
ok('payload-with-magic', 0x81, 1, 'b05801' + frame(0x01, 0).slice(0, 10));
ok('payload-max', 0x81, 3, 'rep(a5,65536)');
ok('payload-max-pattern', 0x11, 4, 'rep(00b058ff,16384)');

// Streams of several frames.
add('concatenated', frame(0x01, 0) + frame(0x81, 1, '61') + frame(0x82, 1, i32(0)), exp(0x01, 0), exp(0x81, 1, '61'), exp(0x82, 1, i32(0)));
add('max-then-small', frame(0x81, 1, 'rep(41,65536)') + frame(0x81, 2, '42'), exp(0x81, 1, 'rep(41,65536)'), exp(0x81, 2, '42'));

// Errors and resynchronisation.
add('empty-input', '');
add('garbage-only', '0001020304050607', 'error:bad-magic');
add('garbage-short', '000102');
add('garbage-then-frame', '00010203' + frame(0x01, 0), 'error:bad-magic', exp(0x01, 0));
add('garbage-with-b0-then-frame', '00b011b0' + frame(0x01, 0), 'error:bad-magic', 'error:bad-magic', 'error:bad-magic', exp(0x01, 0));
add('double-b0', 'b0' + frame(0x11, 1, '78'), 'error:bad-magic', exp(0x11, 1, '78'));
add('bad-magic-second-byte', 'b0590100' + frame(0x01, 0), 'error:bad-magic', exp(0x01, 0));
add('bad-version', frame(0x01, 0, '', { version: 2 }) + frame(0x01, 0), 'error:bad-version', exp(0x01, 0));
add('bad-version-0', frame(0x81, 1, '41', { version: 0 }), 'error:bad-version');
add('too-long', frame(0x11, 1, '', { length: 65537, crc: 0 }) + frame(0x01, 0), 'error:too-long', exp(0x01, 0));
add('too-long-max-u32', frame(0x11, 1, '', { length: 0xffffffff, crc: 0x11111111 }) + frame(0x80, 0, u64(1)), 'error:too-long', exp(0x80, 0, u64(1)));
add('bad-crc', frame(0x11, 1, '616263', { crc: 0x01020304 }) + frame(0x01, 0), 'error:bad-crc', exp(0x01, 0));
add('bad-crc-hides-frame', frame(0x81, 1, frame(0x82, 9, i32(1)), { crc: 0 }) + frame(0x01, 0), 'error:bad-crc', exp(0x82, 9, i32(1)), exp(0x01, 0));
add('bad-crc-empty', frame(0x01, 0, '', { crc: 0xdeadbeef }), 'error:bad-crc');
add('frame-bad-crc-frame', frame(0x01, 0) + frame(0x01, 0, '', { crc: 0 }) + frame(0x14, 5), exp(0x01, 0), 'error:bad-crc', exp(0x14, 5));
add('truncated-header', frame(0x01, 0).slice(0, 22));
add('truncated-payload', frame(0x81, 1, '41424344').slice(0, 36));
add('truncated-max', frame(0x81, 1, '', { length: 65536, crc: 0x01020304 }) + 'rep(41,65535)');
add('frame-then-truncated', frame(0x01, 0) + frame(0x81, 1, '4142').slice(0, 20), exp(0x01, 0));
add('frame-then-garbage', frame(0x01, 0) + 'ffffffff', exp(0x01, 0), 'error:bad-magic');

const header = `# box mux test vectors (PROTOCOL.md, "Test vectors"). Generated by make-vectors.mjs; both codecs must pass.
# name|input hex|expected items in order (frame:<type hex>:<channel decimal>:<payload hex> or error:<kind>)
# hex may contain rep(<hex>,<count>): <hex> repeated <count> times.
`;
writeFileSync(new URL('./vectors.txt', import.meta.url), header + v.join('\n') + '\n');
console.log(`${v.length} vectors`);
