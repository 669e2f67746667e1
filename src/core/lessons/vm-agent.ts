/**
 * The page's end of a VM's lesson agent (images/vm/rootfs/sbin/lesson-agent), on the VM's second
 * serial port (COM2, the guest's ttyS1): the student's console (ttyS0) never sees a check.
 * One request per line, one answer per line:
 *   page → VM   `run <id> <script as base64>\n`
 *   VM → page   `@@lesson <id> <exit code> <stdout+stderr as base64>\n`   (`@@lesson ready` at start)
 * Transport-agnostic: feed it the bytes the VM wrote on COM2, give it a function that sends bytes.
 */
import { fromBase64, toBase64 } from './base64.ts';
import { clearTimer, setTimer, type TimerId } from '../mux/platform.ts';

/** A script's end: its exit code (128+n for a signal, 124 if the agent's 10 s timeout killed it) and output. */
export interface ScriptResult {
  code: number;
  output: string;
}

/** The VM's tty reads a line into a 4 KiB buffer: a request must fit. */
export const VM_AGENT_MAX_LINE = 4000;

export class VmAgentClient {
  private line = '';
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: ScriptResult) => void; reject: (e: Error) => void; timer: TimerId }>();
  /** Set once the agent said `@@lesson ready` (it may have said so before we listened: requests go out anyway). */
  ready = false;

  /** @param send hands bytes to the VM's COM2 (v86: `serial_send_bytes(1, bytes)`). */
  constructor(private readonly send: (text: string) => void) {}

  /** Bytes (as char codes) the VM wrote on COM2. */
  receiveByte(byte: number): void {
    if (byte === 10) {
      this.answer(this.line.replace(/\r$/, ''));
      this.line = '';
    } else if (this.line.length < 1 << 22) {
      this.line += String.fromCharCode(byte);
    }
  }

  /** Run `script` with sh in the VM (as root, in /root). Rejects when no answer comes within `timeoutMs`. */
  run(script: string, timeoutMs = 15_000): Promise<ScriptResult> {
    const id = this.nextId++;
    const request = `run ${id} ${toBase64(script)}\n`;
    if (request.length > VM_AGENT_MAX_LINE)
      return Promise.reject(new Error(`script too long for the VM's side channel (${request.length} > ${VM_AGENT_MAX_LINE} bytes as a request)`));
    return new Promise((resolve, reject) => {
      const timer = setTimer(() => {
        this.waiting.delete(id);
        reject(new Error(`the VM's lesson agent did not answer in ${timeoutMs} ms (is the VM booted?)`));
      }, timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
      this.send(request);
    });
  }

  /** Fail every request in flight (the VM went away). */
  close(reason = 'the VM was powered off'): void {
    for (const [id, w] of this.waiting) {
      clearTimer(w.timer);
      w.reject(new Error(reason));
      this.waiting.delete(id);
    }
  }

  private answer(line: string): void {
    if (line === '@@lesson ready') {
      this.ready = true;
      return;
    }
    const m = /^@@lesson (\d+) (\d+) ?([A-Za-z0-9+/=]*)$/.exec(line);
    if (!m) return; // noise before the agent took the port (e.g. a kernel message): not ours
    const w = this.waiting.get(Number(m[1]));
    if (!w) return;
    this.waiting.delete(Number(m[1]));
    clearTimer(w.timer);
    let output: string;
    try {
      output = fromBase64(m[3]);
    } catch {
      output = '(the agent sent output that is not base64)';
    }
    w.resolve({ code: Number(m[2]), output });
  }
}
