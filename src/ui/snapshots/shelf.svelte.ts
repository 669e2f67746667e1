/**
 * The page's view of stored snapshots: what is saved (headers only), how much storage this site
 * uses, whether the browser keeps it persistently. One shelf per page, refreshed after each save.
 */
import { listSnapshots, parseKey, resumeKey, type ListedSnapshot } from '../../core/snapshot/index.ts';
import { openSnapshotStore, storageUse, type StorageUse } from '../../runtime/snapshot-store.ts';
import type { MachineSession } from '../machines/index.ts';
import { errorText } from '../../core/errors.ts';

export class SnapshotShelf {
  entries = $state<ListedSnapshot[]>([]);
  use = $state<StorageUse>({});
  backend = $state<string | undefined>();
  problem = $state<string | undefined>();
  /** Machines that had a snapshot but booted afresh instead (resumeOrBoot), one sentence each. */
  resumeProblems = $state<string[]>([]);
  private firstRead: Promise<void> | undefined;

  /** The list as the page opened (read once, shared by every machine that asks). */
  whenRead(): Promise<void> {
    return (this.firstRead ??= this.refresh());
  }

  /** Re-read the list and the storage estimate; `askPersist` also asks for persistent storage (once is enough). */
  async refresh(askPersist = false): Promise<void> {
    try {
      const store = await openSnapshotStore();
      this.backend = store.backend;
      this.entries = await listSnapshots(store);
      this.use = await storageUse(askPersist);
      this.problem = undefined;
    } catch (err) {
      this.problem = `browser storage is not available: ${errorText(err)}`;
    }
  }

  async remove(key: string): Promise<void> {
    await (await openSnapshotStore()).delete(key);
    await this.refresh();
  }

  /** Resume snapshots (one per lab machine), newest first. */
  get resumable(): ListedSnapshot[] {
    return this.entries.filter((e) => e.header && parseKey(e.key)?.purpose === 'resume');
  }

  forMachine(id: string): ListedSnapshot | undefined {
    return this.entries.find((e) => e.key === resumeKey(id) && e.header);
  }
}

export const shelf = new SnapshotShelf();

/**
 * Resume a machine from its stored state. Containers that were running on a container host get
 * their cards back first, so the worker's updates for their channels find them.
 */
export async function resumeSession(session: MachineSession, entry: ListedSnapshot): Promise<void> {
  const api = session.control ?? (await session.prepare(), session.control);
  if (!api) throw new Error('the machine has no worker');
  for (const c of entry.header?.extra.containers ?? []) {
    if (!session.containers.some((x) => x.name === c.name)) session.trackContainer(c.name, c.name, 'warm').resumed = true;
  }
  session.terminal.reset();
  await api.resumeSnapshot(entry.key);
}

/**
 * Start a machine from where this browser last saved it (its resume snapshot) when there is one,
 * else boot it; a snapshot that cannot be resumed (another image, a damaged file) is reported on
 * the shelf and the machine boots afresh, so a bad snapshot never leaves it off.
 */
export async function resumeOrBoot(session: MachineSession): Promise<void> {
  await shelf.whenRead();
  const entry = shelf.forMachine(session.id);
  if (!entry) return session.powerOn();
  try {
    await resumeSession(session, entry);
  } catch (err) {
    shelf.resumeProblems = [...shelf.resumeProblems, `${session.name}: its saved state could not be resumed (${errorText(err)}); it boots afresh`];
    await session.powerOn();
  }
}

export const mib = (n: number | undefined) => (n === undefined ? '–' : n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : `${(n / 1048576).toFixed(1)} MiB`);

export function ago(epochMs: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - epochMs) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return new Date(epochMs).toLocaleString();
}
