// Make the container host's kernel image without compression: the kernel's own real-mode setup
// (the first (setup_sects + 1) × 512 bytes of the bzImage the kernel build made) followed by the
// kernel itself (vmlinux as a flat binary, `objcopy -O binary`, from its first loaded byte), with the setup
// header fields that describe the protected-mode part rewritten for it. Any boot loader that
// follows the x86 boot protocol (Documentation/arch/x86/boot.rst) — v86, QEMU's -kernel — loads the
// protected-mode part at code32_start (1 MiB) and jumps there in 32-bit mode with %esi pointing at
// boot_params: exactly how the decompressor enters the kernel's startup_32 after decompressing.
// So every stage still runs (firmware, the kernel's setup code, the kernel); only the
// decompression, 16 M guest instructions of 55 M in a host boot, is gone.
//
// It needs a kernel that is not relocatable and runs where it is loaded:
// CONFIG_PHYSICAL_START=0x100000 (checked here against System.map and the header).
//
//   node images/host/uncompressed-bzimage.mjs BUILD_DIR OUT
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [build, out] = process.argv.slice(2);
if (!build || !out) {
  console.error('usage: node images/host/uncompressed-bzimage.mjs BUILD_DIR OUT');
  process.exit(2);
}
const die = (msg) => {
  console.error(`uncompressed-bzimage: ${msg}`);
  process.exit(1);
};

const bz = readFileSync(join(build, 'arch/x86/boot/bzImage'));
// The decompressor's own input (compressed/vmlinux.bin) is an ELF file now: flatten vmlinux here.
const tmp = mkdtempSync(join(tmpdir(), 'stacklab-kernel-'));
let kernel;
try {
  execFileSync('objcopy', ['-O', 'binary', '-R', '.note', '-R', '.comment', '-S', join(build, 'vmlinux'), join(tmp, 'vmlinux.bin')]);
  kernel = readFileSync(join(tmp, 'vmlinux.bin'));
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
const map = new Map(
  readFileSync(join(build, 'System.map'), 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((p) => p.length === 3)
    .map((p) => [p[2], parseInt(p[0], 16)]),
);

// Setup header offsets, Documentation/arch/x86/boot.rst ("The real-mode kernel header").
const H = { setupSects: 0x1f1, bootFlag: 0x1fe, syssize: 0x1f4, header: 0x202, version: 0x206, code32Start: 0x214, relocatable: 0x234, payloadOffset: 0x248, payloadLength: 0x24c, prefAddress: 0x258, initSize: 0x260, kernelInfo: 0x268 };
if (bz.readUInt16LE(H.bootFlag) !== 0xaa55 || bz.toString('latin1', H.header, H.header + 4) !== 'HdrS') die('arch/x86/boot/bzImage has no x86 boot header');
const version = bz.readUInt16LE(H.version);
if (version < 0x20f) die(`boot protocol ${version.toString(16)} is older than 2.15`);
const setupBytes = ((bz[H.setupSects] || 4) + 1) * 512;

const PAGE_OFFSET = 0xc0000000;
const text = map.get('_text');
const end = map.get('_end');
if (text === undefined || end === undefined) die('System.map has no _text/_end');
const loadAt = text - PAGE_OFFSET;
const code32 = bz.readUInt32LE(H.code32Start);
if (loadAt !== code32) die(`the kernel runs at 0x${loadAt.toString(16)} but boot loaders put it at 0x${code32.toString(16)}: set CONFIG_PHYSICAL_START=0x${code32.toString(16)}`);
if (bz[H.relocatable]) die('the kernel is relocatable: its decompressor would move it; build with CONFIG_RELOCATABLE=n');
if (map.get('startup_32') !== text) die('startup_32 is not the first byte of the kernel');

const setup = Buffer.from(bz.subarray(0, setupBytes));
setup.writeUInt32LE(Math.ceil(kernel.length / 16), H.syssize);
// The memory the kernel needs from its load address until it reads the memory map: all of it,
// BSS and the early brk included (the decompressor's own figure no longer applies).
setup.writeUInt32LE(Math.ceil((end - text) / 4096) * 4096, H.initSize);
// No compressed payload and no kernel_info block (both described the decompressor's image).
setup.writeUInt32LE(0, H.payloadOffset);
setup.writeUInt32LE(0, H.payloadLength);
setup.writeUInt32LE(0, H.kernelInfo);

const padded = Buffer.alloc(Math.ceil(kernel.length / 16) * 16);
kernel.copy(padded);
writeFileSync(out, Buffer.concat([setup, padded]));
console.log(`uncompressed-bzimage: setup ${setupBytes} B + kernel ${kernel.length} B (runs at 0x${loadAt.toString(16)}, needs ${((end - text) / 1048576).toFixed(1)} MiB) → ${out}`);
