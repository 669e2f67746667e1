/**
 * Running a command on a shell we only see as a byte stream (a serial console or a container's
 * terminal): type the command between two markers, the second carrying `$?`, then cut the answer
 * out of everything printed since. Shared by every Driver so they all parse the same way.
 *
 * The markers make the parse independent of the shell's echo, its prompt (which may arrive late)
 * and line wrapping. Drivers should still turn echo off (`stty -echo`): busybox ash then also stops
 * its line editor, whose cursor queries (ESC [6n) can swallow typed input on a console that never
 * answers them.
 */

/** The line to type for the n-th command on a console. The quotes keep the echo from matching. */
export function sentinelLine(cmd: string, n: number): string {
  return `echo "@@"beg-${n}; ${cmd}; echo "@@"end-${n}:$?\n`;
}

/**
 * The command's output (carriage returns dropped, no trailing newline) and exit code from what the
 * console printed since the line was typed, or undefined while the end marker has not appeared.
 */
export function parseSentinel(printed: string, n: number): { output: string; exitCode: number } | undefined {
  const text = printed.replace(/\r/g, '');
  const end = new RegExp(`@@end-${n}:(\\d+)\\n`).exec(text);
  if (!end) return undefined;
  const begin = new RegExp(`@@beg-${n}\\n`).exec(text);
  const from = begin ? begin.index + begin[0].length : 0;
  const output = from <= end.index ? text.slice(from, end.index).replace(/\n$/, '') : '';
  return { output, exitCode: Number(end[1]) };
}
