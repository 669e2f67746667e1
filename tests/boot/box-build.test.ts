// `box build`, `box save`, `box load` for real (issue 13, items 1 and 5): a Dockerfile written in
// the container host's shell is built into layers boxd runs; the build cache, whiteouts, the OCI
// archive (read back by skopeo and umoci on this machine) and every bad input are checked in one
// booted host. Build times are printed (wall ms and guest instructions).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostHasContainerImages, hostWithMux, Machine, MuxPort, shStatus } from './harness.ts';
import { FrameType as T, MUX_LOAD_WINDOW, MUX_MAX_PAYLOAD, type Frame } from '../../src/core/mux/frames.ts';
import { decodeLoadAck, encodeLoad, encodeLoadData } from '../../src/core/mux/payloads.ts';

const have = (tool: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`]);
    return true;
  } catch {
    return false;
  }
};

// The context: one step that stays cached (ENV), then COPY, a RUN that deletes a file of the base
// image (web's /www/index.html: a whiteout) and CMD.
const DOCKERFILE = [
  'FROM web',
  'ENV GREETING=hello',
  'COPY page.txt /www/page.txt',
  'RUN echo built > /www/built.txt && rm /www/index.html',
  'CMD ["cat", "/www/page.txt"]',
].join('\\n');

describe.skipIf(!hostHasContainerImages())('box build / save / load in the container host', () => {
  let m: Machine;
  let mux: MuxPort;
  const sh = (cmd: string, timeoutMs = 120_000) => shStatus(m, cmd, timeoutMs);
  const timings: { what: string; wallMs: number; instructions: number }[] = [];

  async function build(what: string, cmd: string) {
    const i0 = m.instructions();
    const t0 = performance.now();
    const r = await sh(cmd, 240_000);
    timings.push({ what, wallMs: Math.round(performance.now() - t0), instructions: m.instructions() - i0 });
    return r;
  }

  /** Only the error lines (the build's Step lines go to stdout, the error to stderr). */
  const stderrOf = async (cmd: string) => sh(`${cmd} 2>/tmp/err >/dev/null; echo "code=$?"; cat /tmp/err`);

  beforeAll(async () => {
    ({ m, mux } = await hostWithMux());
    await sh(`mkdir -p /root/ctx && cd /root/ctx && printf 'v1\\n' > page.txt && printf '${DOCKERFILE}\\n' > Dockerfile && cd /`);
  }, 120_000);

  afterAll(async () => {
    if (timings.length) console.table(timings);
    mux?.close();
    await m?.stop();
  });

  it('builds an image: Docker-style steps, a tag, and it runs', async () => {
    // Right after boot boxd is still unpacking lua's 5 MB layer while "idle" (about 250 M guest
    // instructions, and a start waits for it): this row includes that; the --no-cache row does not.
    const { out, code } = await build('first build after boot (5 steps)', 'box build -t app /root/ctx');
    expect(code, out).toBe(0);
    expect(out).toMatch(/^Step 1\/5 : FROM web\n ---> [0-9a-f]{12}$/m);
    expect(out).toMatch(/^Step 4\/5 : RUN echo built .*\n ---> Running in [0-9a-f]{12}$/m);
    expect(out).toMatch(/^Removing intermediate container [0-9a-f]{12}$/m);
    expect(out).toMatch(/^Successfully built [0-9a-f]{12}\nSuccessfully tagged app:latest$/m);
    expect(out).not.toMatch(/Using cache/);
    expect((await sh('box run app')).out).toBe('v1\n');
    const env = await sh('box run app sh -c \'echo "$GREETING"; ls /www\'');
    expect(env.out).toMatch(/^hello$/m);
  }, 300_000);

  it('a file deleted in a later layer is gone in the container (whiteout)', async () => {
    const ls = await sh('box run app ls /www');
    expect(ls.out.split(/\s+/).filter(Boolean).sort()).toEqual(['built.txt', 'page.txt']);
    expect((await sh('box run web ls /www')).out).toMatch(/index\.html/); // still in the base image
  }, 120_000);

  it('a second build is all cached', async () => {
    const { out, code } = await build('cached build (5 steps)', 'box build -t app /root/ctx');
    expect(code, out).toBe(0);
    expect(out.match(/ ---> Using cache/g)).toHaveLength(4);
    expect(out).not.toMatch(/Running in/);
  }, 300_000);

  it('--no-cache runs every step again', async () => {
    const { out, code } = await build('uncached build (--no-cache, 5 steps)', 'box build --no-cache -t app /root/ctx');
    expect(code, out).toBe(0);
    expect(out).not.toMatch(/Using cache/);
    expect(out).toMatch(/Running in/);
  }, 300_000);

  it('changing a file rebuilds only the steps from its COPY on', async () => {
    await sh('printf "v2\\n" > /root/ctx/page.txt');
    const { out, code } = await build('rebuild after a change (3 of 5 steps)', 'box build -t app /root/ctx');
    expect(code, out).toBe(0);
    const steps = out.split(/^Step /m).slice(1);
    expect(steps.map((s) => /Using cache/.test(s))).toEqual([false, true, false, false, false]); // FROM prints no cache line
    expect(steps[3]).toMatch(/Running in/);
    expect((await sh('box run app')).out).toBe('v2\n');
  }, 300_000);

  it('box images shows sizes and shared layers; box history the step behind each layer', async () => {
    const images = (await sh('box images')).out;
    console.log(images);
    expect(images).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+LAYERS\s+SIZE\s+SHARED SIZE$/m);
    expect(images).toMatch(/^app\s+latest\s+[0-9a-f]{12}\s+4\s+\S+\s+\S+$/m);
    expect(images).not.toMatch(/^\s/m); // build steps' own images are not listed
    const history = (await sh('box history app')).out.split('\n');
    expect(history[0]).toMatch(/^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT/);
    expect(history[1]).toMatch(/^[0-9a-f]{12} .*CMD \["cat", "\/www\/page.txt"\]\s+0B/);
    expect(history[2]).toMatch(/^<missing> .*\/bin\/sh -c echo built/);
    expect(history[3]).toMatch(/^<missing> .*COPY dir:[0-9a-f]+/);
    expect(history[4]).toMatch(/ENV GREETING=hello\s+0B/);
  }, 120_000);

  it('box save over the mux: an OCI archive skopeo and umoci read, every digest matching its bytes', async () => {
    const from = mux.frames.length;
    const res = await mux.cmd(9, 'save', 'app');
    expect(res.code, res.text).toBe(0);
    const archive = Buffer.concat(
      mux.frames
        .slice(from)
        .filter((f) => f.channel === 9 && f.type === T.OUTPUT)
        .map((f) => Buffer.from(f.payload)),
    );
    // The CLI's `box save -o FILE` in the guest writes the same bytes.
    const guest = await sh('box save app -o /tmp/app.tar && sha256sum /tmp/app.tar');
    expect(guest.out.split(' ')[0]).toBe(createHash('sha256').update(archive).digest('hex'));
    const dir = mkdtempSync(join(tmpdir(), 'box-save-'));
    try {
      const file = join(dir, 'app.tar');
      writeFileSync(file, archive);
      execFileSync('tar', ['-xf', file, '-C', dir]);
      const blobs = readdirSync(join(dir, 'blobs/sha256'));
      for (const hex of blobs)
        expect(
          createHash('sha256')
            .update(readFileSync(join(dir, 'blobs/sha256', hex)))
            .digest('hex'),
        ).toBe(hex);
      const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
      const manifest = JSON.parse(readFileSync(join(dir, 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8'));
      const config = JSON.parse(readFileSync(join(dir, 'blobs/sha256', manifest.config.digest.slice(7)), 'utf8'));
      expect(manifest.layers).toHaveLength(4);
      // Our layers are plain tars: digest = diff_id, media type without +gzip.
      for (const [i, l] of manifest.layers.entries()) {
        if (l.mediaType === 'application/vnd.oci.image.layer.v1.tar') expect(config.rootfs.diff_ids[i]).toBe(l.digest);
        expect(readFileSync(join(dir, 'blobs/sha256', l.digest.slice(7))).length).toBe(l.size);
      }
      const runLayer = execFileSync('tar', ['-tvf', join(dir, 'blobs/sha256', manifest.layers[3].digest.slice(7))], { encoding: 'utf8' });
      console.log(`the RUN step's layer:\n${runLayer}`);
      expect(runLayer).toMatch(/www\/\.wh\.index\.html/);
      expect(runLayer).toMatch(/www\/built\.txt/);
      if (have('skopeo')) {
        const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci-archive:${file}`], { encoding: 'utf8' }));
        console.log(
          'skopeo inspect:',
          JSON.stringify({ Digest: inspect.Digest, Architecture: inspect.Architecture, Os: inspect.Os, Layers: inspect.Layers.length, Env: inspect.Env }),
        );
        expect(inspect.Digest).toBe(index.manifests[0].digest);
        expect(inspect.Layers).toEqual(manifest.layers.map((l: { digest: string }) => l.digest));
        expect(inspect.Env).toContain('GREETING=hello');
      } else console.warn('skopeo not installed: its check skipped');
      if (have('umoci')) {
        execFileSync('umoci', ['unpack', '--rootless', '--image', `${dir}:app:latest`, join(dir, 'bundle')]);
        expect(readFileSync(join(dir, 'bundle/rootfs/www/page.txt'), 'utf8')).toBe('v2\n');
        expect(existsSync(join(dir, 'bundle/rootfs/www/index.html'))).toBe(false);
      } else console.warn('umoci not installed: its check skipped');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);

  it('box load: a good archive loads; a truncated or damaged one says so in one line and loads nothing', async () => {
    await sh('box save app -o /tmp/app.tar');
    const before = (await sh('sha256sum /var/lib/box/oci/index.json')).out;
    await sh(
      'head -c 300000 /tmp/app.tar > /tmp/trunc.tar && cp /tmp/app.tar /tmp/bad.tar && printf X | dd of=/tmp/bad.tar bs=1 seek=3600 conv=notrunc 2>/dev/null',
    );
    const trunc = await stderrOf('box load -i /tmp/trunc.tar');
    expect(trunc.out).toMatch(/^code=1\nbox load: \/tmp\/trunc.tar: archive truncated at byte \d+: nothing was loaded\n$/);
    const bad = await stderrOf('box load -i /tmp/bad.tar');
    expect(bad.out).toMatch(/^code=1\nbox load: \/tmp\/bad.tar: blob sha256:[0-9a-f]{12} does not match its digest .*: nothing was loaded\n$/);
    expect((await sh('sha256sum /var/lib/box/oci/index.json')).out).toBe(before);
    expect((await sh('ls -a /var/lib/box/oci | grep -c "^.load-"')).out.trim()).toBe('0');
    // Timed beside the streamed load below: the same archive, from a file in the guest.
    const t0 = performance.now();
    const i0 = m.instructions();
    const good = await sh('box load -i /tmp/app.tar');
    timings.push({
      what: 'box load -i of the same archive as a file in the guest',
      wallMs: Math.round(performance.now() - t0),
      instructions: m.instructions() - i0,
    });
    expect(good).toEqual({ out: 'Loaded image: app:latest\n', code: 0 });
    expect((await sh('box run app')).out).toBe('v2\n');
  }, 240_000);

  /** `box save app` over the mux: the archive's bytes (its OUTPUT frames). */
  async function saveOverMux(channel: number): Promise<Buffer> {
    const from = mux.frames.length;
    const res = await mux.cmd(channel, 'save', 'app');
    expect(res.code, res.text).toBe(0);
    return Buffer.concat(
      mux.frames
        .slice(from)
        .filter((f) => f.channel === channel && f.type === T.OUTPUT)
        .map((f) => Buffer.from(f.payload)),
    );
  }

  /**
   * A streamed load as the page sends it (PROTOCOL.md "Streamed load"): LOAD, then LOAD_DATA within
   * the window of the LOAD_ACKs; `abortAt` sends LOAD_ABORT once that many bytes
   * went, `skipAt` jumps ahead there (a frame out of order). The answer, and every LOAD_ACK offset.
   */
  async function streamLoad(channel: number, bytes: Uint8Array, name: string, opts: { abortAt?: number; skipAt?: number } = {}) {
    const from = mux.frames.length;
    const mine = (f: Frame) => f.channel === channel;
    const acks = () =>
      mux.frames
        .slice(from)
        .filter((f) => mine(f) && f.type === T.LOAD_ACK)
        .map((f) => decodeLoadAck(f.payload));
    const answered = () => mux.frames.slice(from).some((f) => mine(f) && (f.type === T.RESULT || f.type === T.ERROR));
    mux.send(T.LOAD, channel, encodeLoad(bytes.length, name));
    for (let sent = 0; sent < bytes.length && !answered();) {
      if (opts.abortAt !== undefined && sent >= opts.abortAt) {
        mux.send(T.LOAD_ABORT, channel);
        break;
      }
      const inFlight = sent - Math.max(0, ...acks());
      if (inFlight >= MUX_LOAD_WINDOW) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      const n = Math.min(MUX_MAX_PAYLOAD - 8, bytes.length - sent, MUX_LOAD_WINDOW - inFlight);
      const at = opts.skipAt !== undefined && sent >= opts.skipAt ? sent + 512 : sent;
      mux.send(T.LOAD_DATA, channel, encodeLoadData(at, bytes.subarray(at, at + n)));
      sent += n;
      if (at !== sent - n) break;
    }
    const f = await mux.waitFrame((f) => mine(f) && (f.type === T.RESULT || f.type === T.ERROR), 240_000, `the answer to LOAD ${name}`, from);
    const v = new DataView(f.payload.buffer, f.payload.byteOffset);
    return { type: f.type, code: v.getInt32(0, true), text: new TextDecoder().decode(f.payload.subarray(4)), acks: acks() };
  }

  it('box load streamed over the mux (LOAD): the archive loads with LOAD_ACKs up to its size; damaged, aborted or out of order: one line, nothing loaded', async () => {
    const archive = await saveOverMux(21);
    const before = (await sh('sha256sum /var/lib/box/oci/index.json')).out;
    const noStaging = async () => expect((await sh('ls -a /var/lib/box/oci | grep -c "^.load-"')).out.trim()).toBe('0');

    const bad = Buffer.from(archive);
    bad[3600] ^= 0x55;
    const damaged = await streamLoad(22, bad, 'bad.tar');
    expect(damaged.type).toBe(T.RESULT);
    expect(damaged.code).toBe(1);
    expect(damaged.text).toMatch(
      /^box load: bad.tar: (blob sha256:[0-9a-f]{12} does not match its digest .*|header checksum mismatch .*): nothing was loaded\n$/,
    );

    const aborted = await streamLoad(23, archive, 'app.tar', { abortAt: Math.floor(archive.length / 2) });
    expect(aborted.type).toBe(T.ERROR);
    expect(aborted.code).toBe(125); // ECANCELED on i386 Linux
    expect(aborted.text).toMatch(new RegExp(`^box load: app.tar: aborted by the host after \\d+ of ${archive.length} bytes: nothing was loaded$`));

    const skipped = await streamLoad(24, archive, 'app.tar', { skipAt: Math.floor(archive.length / 3) });
    expect(skipped.type).toBe(T.ERROR);
    expect(skipped.code).toBe(71); // EPROTO
    expect(skipped.text).toMatch(/^box load: app.tar: LOAD_DATA for byte \d+ while byte \d+ was next \(a frame lost or out of order\): nothing was loaded$/);
    expect((await sh('sha256sum /var/lib/box/oci/index.json')).out).toBe(before);
    await noStaging();

    const t0 = performance.now();
    const i0 = m.instructions();
    const good = await streamLoad(25, archive, 'app.tar');
    timings.push({ what: `streamed load of ${archive.length} bytes (LOAD)`, wallMs: Math.round(performance.now() - t0), instructions: m.instructions() - i0 });
    expect(good).toMatchObject({ type: T.RESULT, code: 0, text: 'Loaded image: app:latest\n' });
    expect(good.acks.at(-1)).toBe(archive.length);
    expect(good.acks).toEqual([...good.acks].sort((a, b) => a - b));
    await noStaging();
    expect((await sh('box run app')).out).toBe('v2\n');
    expect(mux.errors).toEqual([]);
  }, 600_000);

  it('bad input: one clear line each, nothing tagged, and boxd keeps serving', async () => {
    await sh('mkdir -p /root/bad && cd /root/bad && printf "x\\n" > a.txt && cd /');
    const cases: [string, RegExp][] = [
      ['FROM web\\nFROBNICATE now', /^box build: Dockerfile line 2: unknown instruction: FROBNICATE$/],
      ['FROM web\\nRUN echo partial > /p && exit 3', /^The command '\/bin\/sh -c echo partial > \/p && exit 3' returned a non-zero code: 3$/],
      ['FROM web\\nCOPY nope.txt /', /^COPY failed: file not found in build context: nope.txt$/],
      ['FROM nosuchimage', /^FROM nosuchimage: Unable to find image 'nosuchimage'/],
    ];
    for (const [dockerfile, message] of cases) {
      await sh(`printf '${dockerfile}\\n' > /root/bad/Dockerfile`);
      const r = await stderrOf('box build -t broken /root/bad');
      const [codeLine, ...lines] = r.out.trimEnd().split('\n');
      expect(codeLine, dockerfile).toBe('code=1');
      expect(lines, dockerfile).toHaveLength(1);
      expect(lines[0], dockerfile).toMatch(message);
    }
    expect((await sh('box images')).out).not.toMatch(/^broken/m);
    expect((await sh('box ps -a -q | wc -l')).code).toBe(0);
    expect((await sh('box run busybox echo still-serving')).out).toBe('still-serving\n');
  }, 300_000);

  it('the example app in /root/example-app builds on web and serves its page', async () => {
    const { out, code } = await build('example app (cold)', 'box build -t myapp /root/example-app');
    expect(code, out).toBe(0);
    expect((await sh('box run myapp cat /www/index.html')).out).toMatch(/Hello from a container image I built/);
    expect((await sh('box run myapp cat /www/about.txt')).out).toBe('built by box build\n');
  }, 300_000);
});
