/**
 * The `race <vm>` page action: power-cycle that VM (the whole boot again, from the BIOS) and start a
 * new container on the running host at the same moment; both are timed by the lab's own timers
 * (power-on → login:, request → first prompt byte). Resolves with the facts for the lesson.
 */
import type { MachineSession } from '../machines/index.ts';

const waitFor = async (ok: () => boolean, timeoutMs: number, what: string) => {
  const deadline = performance.now() + timeoutMs;
  while (!ok()) {
    if (performance.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

export async function raceFacts(
  vm: MachineSession | undefined,
  host: MachineSession | undefined,
  startContainer: (host: MachineSession) => void,
): Promise<Record<string, string>> {
  if (!vm) throw new Error('the race needs the VM in the lab');
  if (!host?.finish) throw new Error('the race needs a running container host');
  const before = host.containers.length;
  const booted = vm.powerCycle().then(() => vm.whenFinished());
  startContainer(host);
  await waitFor(() => host.containers.length > before, 5000, 'the container request');
  const c = host.containers[host.containers.length - 1];
  await waitFor(() => !!c.finish || !!c.error, 60_000, `${c.name}'s prompt`);
  if (c.error) throw new Error(`${c.name}: ${c.error.message}`);
  const mark = await booted;
  return {
    'race.vm-ms': String(Math.round(mark.wallMs)),
    'race.container-ms': String(Math.round(c.finish!.wallMs)),
    // Guest instructions compare laptops fairly: a slow one takes longer for the same count.
    'race.vm-instructions': String(mark.instructions),
    ...(c.instructions !== undefined ? { 'race.container-instructions': String(c.instructions) } : {}),
  };
}
