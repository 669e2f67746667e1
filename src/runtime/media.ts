/**
 * Fetching what a machine boots from: the v86 wasm (compiled once), firmware and kernels (whole,
 * with progress), and the VM disk (lazily: the build's chunk files, or HTTP ranges for a disk the
 * build does not know). Every artifact the build knows is checked against its sha256 from
 * images/dist/manifest.json (whole files; the disk chunk by chunk). Everything is cached for power
 * cycles. Failures become MachineFailure with a sentence for the card. Works in a worker or a page.
 */
import integrity from 'virtual:stacklab/images';
import { LazyDisk } from '../core/lazy-disk.ts';
import { artifactPath, diskChunkPath, toHex, type DiskChunkIndex } from '../core/artifacts.ts';
import { sha256 } from '../core/sha256.ts';
import { PROFILES, type DownloadProgress, type MachineConfig, type MachineError, type ResolvedMedia } from '../core/machine/index.ts';

/** A failure with a message meant for the machine's card. */
export class MachineFailure extends Error {
  constructor(readonly info: MachineError) {
    super(info.message);
  }
}

export const fileName = (url: string) => decodeURIComponent(new URL(url).pathname.split('/').pop() || url);

const reason = (err: unknown) => (err instanceof Error ? err.message : String(err));
const isHtml = (res: Response) => (res.headers.get('content-type') ?? '').includes('text/html');

/** sha256 as hex; crypto.subtle only exists in secure contexts (not plain http on a LAN address). */
async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return toHex(globalThis.crypto?.subtle ? new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)) : sha256(bytes));
}

/** A sentence for the card when bytes do not match the build's hash; undefined when they do. */
async function integrityProblem(what: string, url: string, bytes: Uint8Array<ArrayBuffer>, expected: string | undefined): Promise<MachineError | undefined> {
  if (!expected) return undefined;
  const actual = await sha256Hex(bytes);
  if (actual === expected) return undefined;
  return {
    kind: 'download',
    message: `${what} is damaged: ${fileName(url)} does not match the sha256 in the build's manifest (got ${actual.slice(0, 12)}…, expected ${expected.slice(0, 12)}…)`,
    source: url,
  };
}

const expectedSha = (url: string) => {
  const path = artifactPath(integrity, url);
  return path ? integrity.files[path] : undefined;
};

export interface MediaEvents {
  progress(p: DownloadProgress): void;
  /** A VM disk read failed after boot began (the guest would wait forever). Reported once. */
  diskError(info: MachineError): void;
  /**
   * The container host's image store could not be read (missing, altered). Not fatal: the guest
   * reads zeros instead, so the host boots to its shell and boxd names the image it cannot find.
   * Reported once per power-on.
   */
  storeError(info: MachineError): void;
}

export class MediaLoader {
  private readonly downloads = new Map<string, Promise<ArrayBuffer>>();
  private wasm: Promise<WebAssembly.Module> | undefined;
  private disk: LazyDisk | undefined;
  private diskErrorReported = false;
  /** The disk is what the machine boots from (VM): a failed read stops it. Not so the host's store. */
  private diskEssential = true;

  constructor(private readonly on: MediaEvents) {}

  get diskFetched(): number | undefined {
    return this.disk?.stats().bytesFetched;
  }

  /** The VM's disk once opened (the experiments' driver reads its counters and bytes). */
  get lazyDisk(): LazyDisk | undefined {
    return this.disk;
  }

  /** The compiled emulator, shared by every power-on of this machine (and by the page, if it sent one). */
  wasmModule(url: string, compiled?: unknown): Promise<WebAssembly.Module> {
    if (compiled instanceof WebAssembly.Module) this.wasm ??= Promise.resolve(compiled);
    this.wasm ??= WebAssembly.compileStreaming(fetch(url)).catch((err) => {
      this.wasm = undefined;
      throw new MachineFailure({ kind: 'download', message: `could not load the v86 emulator (${reason(err)})`, source: url });
    });
    return this.wasm;
  }

  async load(cfg: MachineConfig): Promise<ResolvedMedia> {
    const { urls } = cfg;
    const profile = PROFILES[cfg.kind];
    const what: Record<string, [string, string]> = {
      seabios: [urls.seabios, 'BIOS'],
      vgabios: [urls.vgabios, 'VGA BIOS'],
      hostKernel: [urls.hostKernel, 'host kernel'],
      hostInitrd: [urls.hostInitrd, 'host initramfs'],
    };
    this.diskErrorReported = false;
    this.diskEssential = cfg.kind === 'vm';
    const wasm = this.wasmModule(urls.wasm, cfg.wasmModule);
    const files = profile.preload.map((name, i) => this.cached(what[name][0], what[name][1], i, profile.preload.length));
    const cmdline = cfg.kind === 'host' ? this.text(urls.hostCmdline) : Promise.resolve(undefined);
    // The VM boots from its disk; the host keeps its image store on one (both read lazily).
    this.disk ??= await this.openDisk(cfg.kind === 'vm' ? urls.vmDisk : urls.hostStore, cfg.kind === 'vm' ? 'disk image' : 'image store');
    const loaded = Object.fromEntries(profile.preload.map((name, i) => [name, files[i]]));
    const [bios, vgaBios, kernel, initrd] = await Promise.all([loaded.seabios, loaded.vgabios, loaded.hostKernel, loaded.hostInitrd]);
    await wasm;
    return { wasmUrl: urls.wasm, bios: bios!, vgaBios, kernel, initrd, cmdline: await cmdline, disk: this.disk };
  }

  /** Optional text (the host command line): missing means "use the built-in default". */
  private async text(url: string): Promise<string | undefined> {
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      const r = await fetch(url);
      if (!r.ok || isHtml(r)) return undefined;
      bytes = new Uint8Array(await r.arrayBuffer());
    } catch {
      return undefined;
    }
    const problem = await integrityProblem('the kernel command line', url, bytes, expectedSha(url));
    if (problem) throw new MachineFailure(problem);
    return new TextDecoder().decode(bytes);
  }

  private cached(url: string, what: string, index: number, count: number): Promise<ArrayBuffer> {
    let p = this.downloads.get(url);
    if (!p) {
      p = this.download(url, what, index, count);
      p.catch(() => this.downloads.delete(url));
      this.downloads.set(url, p);
    }
    return p;
  }

  private async download(url: string, what: string, index: number, count: number): Promise<ArrayBuffer> {
    let res: Response;
    try {
      res = await fetch(url);
    } catch (err) {
      throw new MachineFailure({ kind: 'download', message: `could not fetch the ${what} (${reason(err)})`, source: url });
    }
    if (!res.ok) throw new MachineFailure({ kind: 'download', message: `${what} not found: HTTP ${res.status} for ${fileName(url)}`, source: url });
    if (isHtml(res))
      throw new MachineFailure({ kind: 'download', message: `${what} not found: the server sent a web page instead of ${fileName(url)}`, source: url });
    const total = Number(res.headers.get('content-length') ?? 0);
    const file = fileName(url);
    if (!res.body) {
      const whole = new Uint8Array(await res.arrayBuffer());
      const problem = await integrityProblem(`the ${what}`, url, whole, expectedSha(url));
      if (problem) throw new MachineFailure(problem);
      return whole.buffer;
    }
    const reader = res.body.getReader();
    const parts: Uint8Array[] = [];
    let loaded = 0;
    let lastSent = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      loaded += value.length;
      const now = performance.now();
      if (now - lastSent > 50) {
        lastSent = now;
        this.on.progress({ file, loaded, total, fileIndex: index, fileCount: count });
      }
    }
    this.on.progress({ file, loaded, total: total || loaded, fileIndex: index, fileCount: count });
    const out = new Uint8Array(loaded);
    let off = 0;
    for (const p of parts) {
      out.set(p, off);
      off += p.length;
    }
    const problem = await integrityProblem(`the ${what}`, url, out, expectedSha(url));
    if (problem) throw new MachineFailure(problem);
    return out.buffer;
  }

  /**
   * Report a disk read failure to the card once per power-on. An essential disk's read then
   * rejects (the worker stops the machine); the image store's read answers `length` zero bytes.
   */
  private diskReadFailed(info: MachineError, length: number): Uint8Array {
    if (!this.diskErrorReported) {
      this.diskErrorReported = true;
      if (this.diskEssential) this.on.diskError(info);
      else this.on.storeError(info);
    }
    if (this.diskEssential) throw new MachineFailure(info);
    return new Uint8Array(length);
  }

  private async openDisk(url: string, what: string): Promise<LazyDisk> {
    const path = artifactPath(integrity, url);
    const index = path ? integrity.disks[path] : undefined;
    if (index) return this.openChunkedDisk(url, index, what);
    return this.openRangeDisk(url, what);
  }

  /**
   * The build's own disk: fixed-size chunk files named by their sha256 beside the image, so any
   * static host serves them (no Range requests) and each chunk is checked as it arrives. The first
   * chunk (MBR, SYSLINUX; the store's superblock) is fetched now, so a server that lacks the chunks
   * fails a VM at load, clearly.
   */
  private async openChunkedDisk(url: string, index: DiskChunkIndex, what: string): Promise<LazyDisk> {
    const disk = new LazyDisk(
      index.bytes,
      async (start, length) => {
        const sha = index.chunks[start / index.chunkBytes];
        const chunkUrl = new URL(diskChunkPath(index.file, sha), url).href;
        const where = `chunk ${start / index.chunkBytes} of ${fileName(url)}`;
        let res: Response;
        try {
          res = await fetch(chunkUrl);
        } catch (err) {
          return this.diskReadFailed({ kind: 'download', message: `could not fetch ${where} (${reason(err)})`, source: chunkUrl }, length);
        }
        if (!res.ok) return this.diskReadFailed({ kind: 'download', message: `${what} not found: HTTP ${res.status} for ${where}`, source: chunkUrl }, length);
        if (isHtml(res))
          return this.diskReadFailed(
            { kind: 'download', message: `${what} not found: the server sent a web page instead of ${where}`, source: chunkUrl },
            length,
          );
        const bytes = new Uint8Array(await res.arrayBuffer());
        if (bytes.length !== length)
          return this.diskReadFailed(
            { kind: 'download', message: `${what} is damaged: ${where} has ${bytes.length} bytes, not ${length}`, source: chunkUrl },
            length,
          );
        const actual = await sha256Hex(bytes);
        if (actual !== sha) {
          return this.diskReadFailed(
            {
              kind: 'download',
              message: `${what} is damaged: ${where} does not match the sha256 in the build's manifest (got ${actual.slice(0, 12)}…, expected ${sha.slice(0, 12)}…)`,
              source: chunkUrl,
            },
            length,
          );
        }
        return bytes;
      },
      index.chunkBytes,
    );
    // An essential disk's failure here is thrown to the card by load(), not reported a second time
    // as a read error; the image store's is reported as it happens (the host boots on).
    const quiet = this.diskEssential && !this.diskErrorReported;
    if (quiet) this.diskErrorReported = true;
    try {
      await disk.read_range(0, 512);
      if (quiet) this.diskErrorReported = false;
    } catch (err) {
      throw err instanceof MachineFailure ? err : new MachineFailure({ kind: 'download', message: `could not read the ${what} (${reason(err)})`, source: url });
    }
    return disk;
  }

  /**
   * A disk the build does not know (a URL override): probe it with a small range read: it proves
   * the file exists, that ranges work, and gives the size. (Not `bytes=0-0`: sirv, behind `vite preview`, reads an end of 0 as "to the end".)
   */
  private async openRangeDisk(url: string, what: string): Promise<LazyDisk> {
    let res: Response;
    try {
      res = await fetch(url, { headers: { Range: 'bytes=0-511' } });
    } catch (err) {
      throw new MachineFailure({ kind: 'download', message: `could not fetch the ${what} (${reason(err)})`, source: url });
    }
    if (!res.ok) throw new MachineFailure({ kind: 'download', message: `${what} not found: HTTP ${res.status} for ${fileName(url)}`, source: url });
    if (isHtml(res))
      throw new MachineFailure({ kind: 'download', message: `${what} not found: the server sent a web page instead of ${fileName(url)}`, source: url });
    if (res.status === 200) {
      // No range support on this host: take the whole image once and serve reads from memory.
      const whole = new Uint8Array(await res.arrayBuffer());
      return new LazyDisk(whole.length, async (start, length) => whole.slice(start, start + length));
    }
    const size = Number(/\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1]);
    await res.arrayBuffer();
    if (!size) throw new MachineFailure({ kind: 'range', message: `the server gave no size for ${fileName(url)} (Content-Range missing)`, source: url });
    return new LazyDisk(size, async (start, length) => {
      try {
        const r = await fetch(url, { headers: { Range: `bytes=${start}-${start + length - 1}` } });
        if (r.status !== 206) throw new Error(`HTTP ${r.status} for bytes ${start}-${start + length - 1} of ${fileName(url)}`);
        return new Uint8Array(await r.arrayBuffer());
      } catch (err) {
        return this.diskReadFailed({ kind: 'range', message: `${what} read failed: ${reason(err)}`, source: url }, length);
      }
    });
  }
}
