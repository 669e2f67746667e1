/**
 * Running a command on a shell we only see as a byte stream (a serial console or a container's
 * terminal): type the command followed by a sentinel that prints `$?`, then cut the answer out of
 * everything printed since. Shared by every Driver so they all parse the same way.
 */

/** The line to type for the n-th command on a console. The quotes keep the echo from matching. */
export function sentinelLine(cmd: string, n: number): string {
  return `${cmd}; echo "@@"end-${n}:$?\n`;
}

/** Matches the sentinel's own output line (not its echo, which still has the quotes). */
export function sentinelPattern(n: number): RegExp {
  return new RegExp(`(?:^|\\n)@@end-${n}:(\\d+)\\r?\\n`);
}

/**
 * The command's output and exit code from what the console printed since the line was typed, or
 * undefined while the sentinel has not appeared. The first line (the echoed command) is dropped,
 * as are carriage returns.
 */
export function parseSentinel(printed: string, n: number): { output: string; exitCode: number } | undefined {
  const m = sentinelPattern(n).exec(printed);
  if (!m) return undefined;
  const body = printed.slice(0, m.index).replace(/\r/g, '');
  const firstBreak = body.indexOf('\n');
  const output = firstBreak < 0 ? '' : body.slice(firstBreak + 1);
  return { output, exitCode: Number(m[1]) };
}
