// A scripted guest for MuxHost tests: a transport that, like v86, only takes bytes into posted
// receive buffers of at most one page, and a tiny boxd stand-in that decodes requests and answers
// (`answer`). Used by the mux's own tests and by the runtime's container registry tests.
import { encodeFrame, MuxDecoder, type Frame } from './frames.ts';
import { MuxHost, type MuxHostOptions } from './host.ts';

export class FakeGuest {
  /** Receive buffers the guest has posted (each takes one push). */
  posted = 0;
  readonly frames: Frame[] = [];
  readonly pushSizes: number[] = [];
  writesWithoutBuffer = 0;
  readonly host: MuxHost;
  private readonly decoder = new MuxDecoder({ frame: (f) => this.onFrame(f), error: (k) => this.errors.push(k) });
  readonly errors: string[] = [];
  /** How to answer each request; default: nothing. */
  answer: (f: Frame) => void = () => {};

  constructor(options: MuxHostOptions = {}) {
    this.host = new MuxHost(
      {
        canWrite: () => this.posted > 0,
        write: (bytes) => {
          if (this.posted === 0) this.writesWithoutBuffer++;
          this.posted--;
          this.pushSizes.push(bytes.length);
          this.decoder.feed(bytes);
        },
      },
      { retryMs: 1, helloIntervalMs: 0, ...options },
    );
  }

  private onFrame(f: Frame) {
    this.frames.push(f);
    this.answer(f);
  }

  /** Send a frame to the host (guest → host is never gated), in small pieces like virtio does. */
  say(type: number, channel: number, payload?: Uint8Array) {
    const bytes = encodeFrame(type, channel, payload);
    for (let off = 0; off < bytes.length; off += 7) this.host.receive(bytes.subarray(off, off + 7));
  }

  of(type: number) {
    return this.frames.filter((f) => f.type === type);
  }
}
