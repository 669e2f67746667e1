/**
 * Lesson checks inside a machine worker, on side channels only: a VM's lesson agent on COM2
 * (src/core/lessons/vm-agent.ts), the container host's boxd (HOST_EXEC for `host`, EXEC for a
 * container by name). The student's terminal never sees them.
 */
import type { V86 } from 'v86';
import { runOnBoxd, VmAgentClient, type ScriptResult } from '../core/lessons/index.ts';
import type { MuxHost } from '../core/mux/index.ts';

export class LessonChecks {
  private agent: VmAgentClient | undefined;
  private detachSerial: (() => void) | undefined;

  constructor(private readonly mux: () => MuxHost | undefined) {}

  /** A VM's emulator was built (booted or resumed): listen on its COM2. */
  attachVm(emu: V86): void {
    this.detach();
    const e = emu as unknown as {
      add_listener(ev: string, fn: (b: number) => void): void;
      remove_listener(ev: string, fn: (b: number) => void): void;
      serial_send_bytes(n: number, b: Uint8Array): void;
    };
    const agent = new VmAgentClient((text) => e.serial_send_bytes(1, new TextEncoder().encode(text)));
    const onByte = (b: number) => agent.receiveByte(b);
    e.add_listener('serial1-output-byte', onByte);
    this.agent = agent;
    this.detachSerial = () => e.remove_listener('serial1-output-byte', onByte);
  }

  detach(): void {
    this.agent?.close();
    this.detachSerial?.();
    this.agent = this.detachSerial = undefined;
  }

  /** Run a check script: `vm` for this VM, `host` or a container name on a container host. */
  run(machine: string, source: string): Promise<ScriptResult> {
    if (this.agent) return this.agent.run(source);
    const mux = this.mux();
    if (!mux) return Promise.reject(new Error('the machine is not running'));
    return runOnBoxd(mux, machine, source);
  }
}
