/**
 * The steps of one host's "Load image…" (startImageLoad) and its Cancel, as plain fields a view
 * renders: image-load.svelte.ts makes them reactive ($state). Kept free of runes so the unit tests
 * run it in Node.
 */
import * as Comlink from 'comlink';
import { startImageLoad, type ImageArchiveTarget, type ImageLoad } from './image-upload.ts';

/**
 * How long Cancel waits for the machine's worker to say it told boxd, ms. The worker answers in
 * milliseconds while it runs; one that is gone (crashed, terminated) never answers over comlink.
 */
export const CANCEL_ANSWER_MS = 10_000;

/** The line a Cancel made before anything was sent (the file was still being read). */
export const cancelledBeforeSending = (name: string) => `Cancelled: ${name}: nothing was sent`;

/**
 * One load at a time into one host. Subclasses declare the fields (reactive or not); this class
 * only reads and writes them.
 */
export abstract class ImageLoadFlow {
  /** The file under way, until its answer. */
  abstract busy: string | undefined;
  /** Bytes boxd has taken, of `total`. */
  abstract taken: number;
  abstract total: number;
  /** Set once Cancel was clicked for the load under way (until it is told, or could not be). */
  abstract cancelling: boolean;
  /** box load's "Loaded image: …" line(s) of the last load. */
  abstract loaded: string | undefined;
  /** Why the last load loaded nothing ("Could not load …"), its cancel ("Cancelled: …"), or a cancel that failed, with the load's own outcome after it. */
  abstract error: string | undefined;
  private current: ImageLoad | undefined;
  /** Cancel clicked while the file was still being read: load() sends nothing. */
  private cancelBeforeSend = false;
  /** "Could not cancel: …" of the load under way, kept in front of its own outcome. */
  private cancelFailure: string | undefined;

  /**
   * `target()`: the host's control API now, undefined while it is off. `cancelAnswerMs`: how long
   * Cancel waits for it (CANCEL_ANSWER_MS).
   */
  constructor(
    private readonly target: () => ImageArchiveTarget | undefined,
    private readonly cancelAnswerMs = CANCEL_ANSWER_MS,
  ) {}

  /**
   * Whether Cancel can still do something: a load under way, not already cancelling, and boxd has not
   * taken every byte (it ignores LOAD_ABORT then and box load's own answer comes: PROTOCOL.md).
   */
  get canCancel(): boolean {
    return !!this.busy && !this.cancelling && this.taken < this.total;
  }

  /** Load `file` into the host; one at a time (a second pick while busy is ignored: the button is disabled then). */
  async load(file: Pick<File, 'name' | 'size' | 'arrayBuffer'>): Promise<void> {
    const control = this.target();
    if (this.busy || !control) return;
    this.busy = file.name;
    this.cancelling = this.cancelBeforeSend = false;
    this.loaded = this.error = this.cancelFailure = undefined;
    this.taken = 0;
    this.total = file.size;
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      if (this.cancelBeforeSend) throw new Error(cancelledBeforeSending(file.name));
      this.current = startImageLoad(
        control,
        file.name,
        bytes,
        Comlink.proxy((t: number, n: number) => ((this.taken = t), (this.total = n))),
      );
      this.loaded = await this.current.done;
      this.error = this.cancelFailure;
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      const outcome = why.startsWith('Cancelled: ') ? why : `Could not load ${file.name}: ${why}`;
      this.error = this.cancelFailure ? `${this.cancelFailure}; then: ${outcome}` : outcome;
    } finally {
      this.current = undefined;
      this.busy = undefined;
      this.cancelling = false;
    }
  }

  /**
   * Cancel the load under way: boxd drops what it staged and its line comes as `error`. While the
   * file is still being read, nothing is sent at all. A worker that cannot be told, or does not
   * answer within `cancelAnswerMs`, gives "Could not cancel: …" (and Cancel may be tried again).
   */
  async cancel(): Promise<void> {
    if (!this.canCancel) return;
    this.cancelling = true;
    const load = this.current;
    if (!load) {
      this.cancelBeforeSend = true;
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const silence = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the machine did not answer within ${this.cancelAnswerMs / 1000} s`)), this.cancelAnswerMs);
    });
    try {
      await Promise.race([load.cancel(), silence]);
    } catch (e) {
      if (this.current !== load) return; // the load ended meanwhile: its own outcome stands
      this.cancelFailure = `Could not cancel: ${e instanceof Error ? e.message : String(e)}`;
      this.error = this.cancelFailure;
      this.cancelling = false;
    } finally {
      clearTimeout(timer);
    }
  }
}
