/**
 * After a restore, boxd in the guest still has its containers' terminals open on the mux, but the
 * page side is a new MuxHost that knows none of them. Resync: the new host says HELLO (boxd answers
 * READY at once: its port is already raw), takes the saved channel numbers out of circulation so new
 * containers do not collide with them, and tops each channel's credit back up to what the new host
 * assumes (boxd still believes the credit it had at the moment of the save).
 */
import { FrameType, MUX_INITIAL_CREDIT, encodeCredit, type MuxHost } from '../mux/index.ts';

export interface AdoptedChannel {
  channel: number;
  /** What boxd believed it could still send on this channel when the state was saved. */
  guestCredit: number;
}

/** Mark `channels` in use on a host that has handed out no channel above them yet, and resync credit. */
export function adoptChannels(host: MuxHost, channels: readonly AdoptedChannel[], initialCredit = MUX_INITIAL_CREDIT): void {
  const want = new Set(channels.map((c) => c.channel));
  const max = Math.max(0, ...want);
  const spare: number[] = [];
  // allocChannel() counts up from where it was: take every number up to the highest adopted one.
  while (max > 0) {
    const c = host.allocChannel();
    if (!want.has(c)) spare.push(c);
    if (c >= max) break;
  }
  for (const c of spare) host.release(c);
  for (const c of channels) {
    const topUp = initialCredit - c.guestCredit;
    if (topUp > 0) host.send(FrameType.CREDIT, c.channel, encodeCredit(topUp));
  }
}
