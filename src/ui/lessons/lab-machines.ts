/**
 * A lesson's machine names mapped onto the lab's sessions: `vm1`… are the lab's VMs (same ids),
 * `host` the container host, any other name one of its containers. Scripts go to the worker's
 * side channels (MachineSession.lessonScript); "Show me" types into the terminals. A passed check
 * saves the lesson's running machines as their resume snapshots, so a reload resumes them there.
 */
import { machineRole, type MachineName } from '../../core/lessons/index.ts';
import { resumeKey } from '../../core/snapshot/index.ts';
import type { MachineSession } from '../machines/index.ts';
import { mib, shelf } from '../snapshots/index.ts';
import type { LessonMachines } from './lesson-session.svelte.ts';

export function labMachines(sessions: () => readonly MachineSession[]): LessonMachines {
  const host = () => sessions().find((s) => s.kind === 'host');
  const find = (machine: string): MachineSession => {
    const role = machineRole(machine);
    const s = role === 'vm' ? sessions().find((x) => x.id === machine) : host();
    if (!s)
      throw new Error(
        role === 'vm'
          ? `there is no ${machine.toUpperCase().replace('VM', 'VM ')} in the lab: add it (Start the lesson's machines)`
          : 'there is no container host in the lab: add it',
      );
    if (role === 'container' && !s.containers.some((c) => c.name === machine)) throw new Error(`there is no container ${machine} on the host: start it`);
    return s;
  };
  /** The lab machines behind `names` (containers live in the host's state), once each. */
  const behind = (names: readonly MachineName[]) => {
    const ids = new Set(names.filter((m) => machineRole(m) !== 'page').map((m) => (machineRole(m) === 'vm' ? m : 'host')));
    return sessions().filter((s) => ids.has(s.kind === 'host' ? 'host' : s.id));
  };
  return {
    async keep(names) {
      const running = behind(names).filter((s) => s.control && (s.state === 'finished' || s.state === 'booting'));
      const saved: string[] = [];
      try {
        for (const s of running) {
          const r = await s.control!.saveSnapshot();
          saved.push(`${s.name} (${mib(r.storedBytes)} in ${(r.ms / 1000).toFixed(1)} s)`);
        }
      } finally {
        await shelf.refresh();
      }
      return saved;
    },
    async forget(names) {
      await shelf.whenRead();
      for (const s of behind(names)) if (shelf.forMachine(s.id)) await shelf.remove(resumeKey(s.id));
    },
    async run(machine, source) {
      return find(machine).lessonScript(machine, source);
    },
    type(machine, text) {
      const s = find(machine);
      if (machineRole(machine) === 'container') s.containers.find((c) => c.name === machine)!.type(text);
      else s.type(text);
    },
  };
}
