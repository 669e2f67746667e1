// Storage: a VM's writes land in its own disk image (we find them in the disk's bytes from outside);
// a container's writes land in its copy-on-write layer (box diff), over read-only layers that all
// containers of an image share (the same inode).
import { ok, parseBusyboxTime, withLab } from './common.ts';
import type { Experiment } from './types.ts';

const utf8 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

export const storage: Experiment = {
  id: 'storage',
  title: 'Storage',
  explain:
    'A VM writes through its own kernel’s filesystem onto an emulated disk: the bytes end up in its disk image. A container writes into a thin copy-on-write layer on top of read-only image layers; the layers are unpacked once and shared by every container of the image.',
  costSeconds: 25,
  params: [{ name: 'writeKb', default: 2048, unit: 'count', what: 'KiB written (and synced) to time a write on each side' }],
  run: (driver, ctx) =>
    withLab(driver, ctx, async (lab) => {
      const token = `stacklab-${Math.random().toString(36).slice(2, 10)}`;
      const kb = Math.max(64, Math.round(lab.param('writeKb', 2048)));
      const write = `time sh -c 'dd if=/dev/zero of=/root/big bs=64k count=${kb / 64} 2>/dev/null && sync' 2>&1; rm -f /root/big`;

      lab.progress('VM: write a file and find it on the disk', 0.1);
      const vm = await lab.vm({ label: 'sto-vm' });
      const before = await vm.disk();
      ok(await vm.run(`echo ${token} > /root/proof.txt && sync`), 'write in the VM');
      const afterProof = await vm.disk();
      const bytes = await vm.readDisk(0, before.size);
      const at = indexOf(bytes, utf8(token));
      lab.figure('vm', 'vm.foundOnDisk', 'the written file is in the disk image’s bytes', at >= 0, 'bool', {
        how: 'searched the LazyDisk from outside the guest',
      });
      if (at >= 0) lab.figure('vm', 'vm.diskOffset', 'offset of the file’s data on the disk', at, 'bytes');
      lab.figure('vm', 'vm.diskWritten', 'disk bytes the guest wrote for it', afterProof.bytesWritten - before.bytesWritten, 'bytes', {
        how: 'LazyDisk written blocks before and after (data, inode, directory, journal-free ext2 metadata)',
      });
      const i0 = (await vm.stats()).instructions;
      const vmWrite = parseBusyboxTime(ok(await vm.run(write, { timeoutMs: 120_000 }), 'timed write in the VM'));
      lab.figure('vm', 'vm.write.ms', `write ${kb} KiB + sync (guest time)`, vmWrite.realMs, 'ms', { dependsOnLoad: true });
      lab.figure('vm', 'vm.write.instructions', `write ${kb} KiB + sync, guest instructions`, (await vm.stats()).instructions - i0, 'instructions');
      lab.show('vm', 'mount (VM root)', ok(await vm.run('mount | grep " / "'), 'mount'));
      await lab.stop(vm);

      lab.progress('containers: write a file, box diff, shared layers', 0.5);
      const host = await lab.host({ label: 'sto-host' });
      const c1 = await lab.container(host, 'busybox', { name: 'sto-c1' });
      const c2 = await lab.container(host, 'busybox', { name: 'sto-c2' });
      ok(await c1.run(`echo ${token} > /root/proof.txt`), 'write in c1');
      const diff = await host.box(['diff', c1.name]);
      lab.show('container', 'box diff sto-c1', diff.output.trim());
      lab.figure('container', 'container.inDiff', 'box diff lists the written file', /^A \/root\/proof\.txt$/m.test(diff.output), 'bool');
      const info = JSON.parse((await host.box(['inspect', c1.name, c2.name])).output);
      const upper1: string = info[0].GraphDriver.Data.UpperDir;
      const fromHost = ok(await host.run(`cat ${upper1}/root/proof.txt`), 'read the upper dir from the host').trim();
      lab.figure('container', 'container.inUpperDir', 'the host finds it in the container’s upper dir', fromHost === token, 'bool', {
        how: `cat ${upper1}/root/proof.txt in the host`,
      });
      lab.figure(
        'container',
        'container.sameLowerDirs',
        'both containers use the same image layers',
        info[0].GraphDriver.Data.LowerDir === info[1].GraphDriver.Data.LowerDir,
        'bool',
      );
      lab.figure('container', 'container.ownUpperDirs', 'each has its own upper dir', upper1 !== info[1].GraphDriver.Data.UpperDir, 'bool');
      const ino = async (run: () => Promise<{ output: string; exitCode: number }>) =>
        ok(await run(), 'ls -i')
          .trim()
          .split(/\s+/)[0]!;
      const i1 = await ino(() => c1.run('ls -i /bin/busybox'));
      const i2 = await ino(() => c2.run('ls -i /bin/busybox'));
      const lowest = String(info[0].GraphDriver.Data.LowerDir).split(':').at(-1)!;
      const iHost = await ino(() => host.run(`ls -i ${lowest}/bin/busybox`));
      lab.figure(
        'container',
        'container.sharedInode',
        '/bin/busybox is one file (same inode) in both and in the host’s layer store',
        i1 === i2 && i1 === iHost,
        'bool',
      );
      lab.show('container', 'inode of /bin/busybox', `c1 ${i1}, c2 ${i2}, host layer store ${iHost}`);
      const before2 = (await host.stats()).instructions;
      const cWrite = parseBusyboxTime(ok(await c1.run(write, { timeoutMs: 120_000 }), 'timed write in c1'));
      lab.figure('container', 'container.write.ms', `write ${kb} KiB + sync (guest time)`, cWrite.realMs, 'ms', { dependsOnLoad: true });
      lab.figure(
        'container',
        'container.write.instructions',
        `write ${kb} KiB + sync, guest instructions`,
        (await host.stats()).instructions - before2,
        'instructions',
      );
      lab.note(
        'The container’s writable layer here lives in the host’s memory (tmpfs upper dir), so its write costs no emulated disk I/O; the VM’s write goes through the ext2 filesystem and the emulated IDE disk.',
      );
      lab.note('Layers are read-only and shared: a hundred containers of one image still have one /bin/busybox.');
      return lab.result('storage', {
        vm: `write found in its disk image${at >= 0 ? '' : ' (NOT found)'}; ${kb} KiB + sync: ${vmWrite.realMs.toFixed(0)} ms`,
        container: `write in its own upper layer (box diff: ${/^A \/root\/proof\.txt$/m.test(diff.output) ? 'A /root/proof.txt' : 'missing'}); layers shared; ${kb} KiB: ${cWrite.realMs.toFixed(0)} ms`,
      });
    }),
};
