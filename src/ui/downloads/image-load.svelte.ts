/**
 * One container host's "Load image…" (src/ui/downloads/image-upload.ts startImageLoad), as state the
 * lab's card renders in two places: the button in the card's row of what to do with the machine
 * (load-image-button.svelte), and the load's own line under it (load-image-status.svelte): a
 * progress bar and Cancel while boxd takes the bytes, then box load's answer or the one line saying
 * why nothing was loaded. The host keeps running either way.
 */
import * as Comlink from 'comlink';
import type { MachineSession } from '../machines/index.ts';
import { startImageLoad, type ImageLoad } from './image-upload.ts';

export class HostImageLoad {
  /** The file under way, until its answer. */
  busy = $state<string | undefined>();
  /** Bytes boxd has taken, of `total`. */
  taken = $state(0);
  total = $state(0);
  /** Set once Cancel was clicked for the load under way. */
  cancelling = $state(false);
  /** box load's "Loaded image: …" line(s) of the last load. */
  loaded = $state<string | undefined>();
  /** Why the last load loaded nothing ("Could not load …"), or its cancel ("Cancelled: …"). */
  error = $state<string | undefined>();
  private current: ImageLoad | undefined;

  constructor(private readonly host: MachineSession) {}

  /** Load `file` into the host; one at a time (a second pick while busy is ignored: the button is disabled then). */
  async load(file: File): Promise<void> {
    const control = this.host.control;
    if (this.busy || !control) return;
    this.busy = file.name;
    this.cancelling = false;
    this.loaded = this.error = undefined;
    this.taken = 0;
    this.total = file.size;
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      this.current = startImageLoad(
        control,
        file.name,
        bytes,
        Comlink.proxy((t: number, n: number) => ((this.taken = t), (this.total = n))),
      );
      this.loaded = await this.current.done;
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      this.error = why.startsWith('Cancelled: ') ? why : `Could not load ${file.name}: ${why}`;
    } finally {
      this.current = undefined;
      this.busy = undefined;
      this.cancelling = false;
    }
  }

  /** Cancel the load under way: boxd drops what it staged; its line comes as `error`. */
  async cancel(): Promise<void> {
    const load = this.current;
    if (!load || this.cancelling) return;
    this.cancelling = true;
    try {
      await load.cancel();
    } catch (e) {
      // The host could not be told (its worker is gone): the load's own failure follows.
      this.error = `Could not cancel: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
}

const loads = new WeakMap<MachineSession, HostImageLoad>();

/** The host's load state, shared by its button and its status line. */
export function imageLoadOf(host: MachineSession): HostImageLoad {
  let l = loads.get(host);
  if (!l) loads.set(host, (l = new HostImageLoad(host)));
  return l;
}
