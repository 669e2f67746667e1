/**
 * Scripts on the container host and in its containers through boxd's mux: HOST_EXEC for `host`,
 * EXEC (no pty flag, so bytes pass raw) for a container by name. Output and exit code come back
 * on a channel of their own: nothing reaches a terminal the student types in.
 */
import type { MuxHost } from '../mux/host.ts';
import { clearTimer, setTimer, utf8Decoder, type TimerId } from '../mux/platform.ts';
import type { ScriptResult } from './vm-agent.ts';

/** Run `sh -c source` on `host` or in the container named `machine`; resolves when it exits. */
export function runOnBoxd(mux: MuxHost, machine: string, source: string, timeoutMs = 15_000): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const chunks: string[] = [];
    let timer: TimerId | undefined;
    const listener = {
      output: (b: Uint8Array) => {
        chunks.push(utf8Decoder.decode(b));
        mux.ack(handle.channel, b.length);
      },
      exit: (s: { code: number | null; signal: number | null }) => {
        if (timer !== undefined) clearTimer(timer);
        mux.release(handle.channel);
        resolve({ code: s.code ?? 128 + (s.signal ?? 0), output: chunks.join('') });
      },
    };
    const argv = ['sh', '-c', source];
    const handle = machine === 'host' ? mux.hostExec(argv, listener, timeoutMs) : mux.exec(0, [machine, ...argv], listener, timeoutMs);
    handle.started.catch((e: unknown) => {
      if (timer !== undefined) clearTimer(timer);
      reject(e instanceof Error ? e : new Error(String(e)));
    });
    timer = setTimer(() => {
      mux.signal(handle.channel, 9);
      reject(new Error(`${machine}: the check did not finish in ${timeoutMs} ms`));
    }, timeoutMs);
  });
}
