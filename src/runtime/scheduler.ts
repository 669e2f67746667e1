/**
 * How v86 gets the thread back between its ~1 ms run slices. Its default, in any context with
 * `Worker`, posts every zero-delay yield to a nested worker and waits for the echo (v86 #219
 * reports workers running slower). Inside our machine worker nothing else needs the thread, so a
 * MessageChannel to ourselves does the same job without a second thread or a cross-thread hop.
 * This reaches into v86's `v86` object (`yield`, `yield_callback`, `unregister_yield`, all on the
 * prototype in libv86.mjs); if a v86 update renames them, we keep v86's own scheme.
 */
import type { V86 } from 'v86';

interface V86Main {
  yield(t: number, tick: number): void;
  yield_callback(tick: number): void;
  unregister_yield(): void;
}

export function useChannelYield(emulator: V86): boolean {
  const main = (emulator as unknown as { v86?: Partial<V86Main> }).v86;
  if (!main || typeof main.yield !== 'function' || typeof main.yield_callback !== 'function' || typeof main.unregister_yield !== 'function') return false;
  const m = main as V86Main;
  m.unregister_yield(); // stops v86's nested yield worker
  const channel = new MessageChannel();
  channel.port1.onmessage = (e: MessageEvent<number>) => m.yield_callback(e.data);
  m.yield = (t, tick) => {
    if (t < 1) channel.port2.postMessage(tick);
    else setTimeout(() => m.yield_callback(tick), t);
  };
  m.unregister_yield = () => {
    channel.port1.close();
    channel.port2.close();
  };
  return true;
}
