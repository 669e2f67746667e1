/**
 * npm run race -- --vms 2 --containers 4 [--warm | --cold] [--json]
 * The page's race in Node: prints the results table (or, with --json, the page's JSON export).
 * Exit codes: 0 every machine finished, 1 some did not (each is reported on its row), 2 bad arguments.
 */
import { cpus, loadavg } from 'node:os';
import { formatConfig, toJSON } from '../core/machine/index.ts';
import { parseArgs, UsageError, USAGE, type RaceArgs } from './args.ts';
import { identify } from './identity.ts';
import { runRace } from './race.ts';
import { DIST } from './dist.ts';
import { resultsTable, unfinishedReport } from './table.ts';

function environment(): string {
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  return `node ${process.version} ${process.platform}-${process.arch}, worker_threads, ${cpus().length} CPUs, load average ${load} at the end`;
}

async function main(args: RaceArgs): Promise<number> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(
    `load average before the race: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (${cpus().length} CPUs; wall times depend on it, instruction counts do not)`,
  );
  const outcome = await runRace({ config: args.config, dist: DIST, timeoutMs: args.timeoutMs, log });
  const identities = await identify(outcome.machines);
  const ranked = outcome.results();
  await Promise.all(outcome.machines.map((m) => m.dispose()));
  if (args.json) process.stdout.write(toJSON(ranked, formatConfig(args.config), new Date(), environment()) + '\n');
  else process.stdout.write(`\n${resultsTable(ranked, args.config.mode, identities)}\n\n${environment()}\n`);
  if (outcome.unfinished.length) process.stderr.write(`\n${unfinishedReport(outcome.unfinished)}\n`);
  return outcome.unfinished.length ? 1 : 0;
}

let args: RaceArgs;
try {
  args = parseArgs(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(`race: ${err.message}\n`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
main(args).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`race: ${err instanceof Error ? (err.stack ?? err.message) : err}\n`);
    process.exit(1);
  },
);
