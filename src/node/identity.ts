/**
 * After the race, ask each finished machine who it is: `hostname` and `uname -r`, typed into its
 * console (a VM logs in as root first; the host and the containers are at a root shell). The
 * answers show what the table cannot: every container has its own hostname but the host's
 * kernel, and each VM runs a kernel of its own. Untimed: the race is over by then.
 */
import type { HeadlessContainer, HeadlessMachine } from './machine.ts';
import type { Identity } from './table.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(read: () => string, re: RegExp, timeoutMs: number): Promise<RegExpExecArray | undefined> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const m = re.exec(read());
    if (m || performance.now() > end) return m ?? undefined;
    await sleep(50);
  }
}

let nonce = 0;

/** `hostname` and `uname -r` from a shell; the quotes keep the typed line's echo from matching. */
async function ask(read: () => string, type: (s: string) => void, timeoutMs: number) {
  const tag = `id${++nonce}`;
  type(`echo "@@"${tag} $(hostname) $(uname -r)\n`);
  const m = await waitFor(read, new RegExp(`@@${tag} (\\S+) (\\S+)`), timeoutMs);
  return m ? { hostname: m[1], kernel: m[2] } : undefined;
}

export async function identify(machines: readonly HeadlessMachine[], timeoutMs = 30_000): Promise<Identity[]> {
  const out: Identity[] = [];
  const jobs: Promise<void>[] = [];
  for (const m of machines) {
    if (!m.finish) continue;
    jobs.push(
      (async () => {
        const read = () => m.console.all;
        if (m.kind === 'vm') {
          m.type('root\n');
          if (!(await waitFor(read, /# $/, timeoutMs))) return;
        }
        const who = await ask(read, (s) => m.type(s), timeoutMs);
        m.hostname = who?.hostname;
        m.kernel = who?.kernel;
        if (who) out.push({ id: m.id, text: `hostname ${who.hostname}, kernel ${who.kernel}` });
      })(),
    );
    for (const c of m.containers) {
      if (!c.finish || c.channel === undefined) continue;
      jobs.push(
        (async () => {
          const who = await ask(
            () => c.console.all,
            (s) => m.type(s, c.channel),
            timeoutMs,
          );
          c.hostname = who?.hostname;
          c.kernel = who?.kernel;
          const pid = c.pid !== undefined ? `, its PID 1 is PID ${c.pid} on the host` : '';
          if (who) out.push({ id: c.id, text: `hostname ${who.hostname}, kernel ${who.kernel}${pid}` });
        })(),
      );
    }
  }
  await Promise.all(jobs);
  return out;
}

export type { HeadlessContainer };
