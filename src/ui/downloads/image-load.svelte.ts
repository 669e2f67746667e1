/**
 * One container host's "Load image…" (src/ui/downloads/image-load-flow.ts ImageLoadFlow, over
 * image-upload.ts startImageLoad), as state the lab's card renders in two places: the button in the
 * card's row of what to do with the machine (load-image-button.svelte), and the load's own line under
 * it (load-image-status.svelte): a progress bar and Cancel while boxd takes the bytes, then box
 * load's answer or the one line saying why nothing was loaded. The host keeps running either way.
 */
import type { MachineSession } from '../machines/index.ts';
import { ImageLoadFlow } from './image-load-flow.ts';

/** ImageLoadFlow with reactive fields (Svelte 5 $state), for one host. */
export class HostImageLoad extends ImageLoadFlow {
  busy = $state<string | undefined>();
  taken = $state(0);
  total = $state(0);
  cancelling = $state(false);
  loaded = $state<string | undefined>();
  error = $state<string | undefined>();

  constructor(host: MachineSession) {
    super(() => host.control);
  }
}

const loads = new WeakMap<MachineSession, HostImageLoad>();

/** The host's load state, shared by its button and its status line. */
export function imageLoadOf(host: MachineSession): HostImageLoad {
  let l = loads.get(host);
  if (!l) loads.set(host, (l = new HostImageLoad(host)));
  return l;
}
