/**
 * Command-line arguments of the headless race, checked by the page's own URL rules
 * (parseConfig in src/core/machine/url-config.ts): `--vms 9` fails with the message a bad `?vms=9`
 * gets on the page.
 */
import { LIMITS, parseConfig, type LabConfig } from '../core/machine/index.ts';

export const USAGE = `usage: npm run race -- [--vms N] [--containers N] [--warm | --cold] [--json] [--timeout SECONDS] [--vm-disk N=PATH]
  --vms N            VMs, ${LIMITS.vms.min} to ${LIMITS.vms.max} (default 2)
  --containers N     containers on the one container host, ${LIMITS.containers.min} to ${LIMITS.containers.max} (default 3)
  --warm             the default: boot the container host first (its own row, paid once, not ranked),
                     then race the VMs' power-on against container starts on the running host
  --cold             power the container host on with the VMs; containers start when it is ready
  --json             print the results as the page's JSON export instead of the table
  --timeout SECONDS  hard limit per machine (default 120); a machine past it is reported with its console's last lines
  --vm-disk N=PATH   another disk image for VM N (like the page's vmN.disk)
  images come from images/dist, or from $STACKLAB_DIST`;

/** Bad arguments: one line for the terminal, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface RaceArgs {
  config: LabConfig;
  json: boolean;
  timeoutMs: number;
  help: boolean;
}

const VALUED = ['--vms', '--containers', '--timeout', '--vm-disk'] as const;
const FLAGS = ['--warm', '--cold', '--json', '--help', '-h'] as const;

export function parseArgs(argv: readonly string[]): RaceArgs {
  const query: [string, string][] = [];
  let json = false;
  let help = false;
  let timeoutMs = 120_000;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if ((FLAGS as readonly string[]).includes(name)) {
      if (eq > 0) throw new UsageError(`${name} takes no value`);
      if (name === '--json') json = true;
      else if (name === '--warm' || name === '--cold') query.push(['mode', name.slice(2)]);
      else help = true;
      continue;
    }
    if (!(VALUED as readonly string[]).includes(name)) {
      throw new UsageError(`unknown option "${arg}" (known: ${[...VALUED, ...FLAGS.slice(0, 3)].join(', ')})`);
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new UsageError(`${name} needs a value`);
    if (name === '--timeout') {
      const s = Number(value);
      if (!/^\d+(\.\d+)?$/.test(value) || !(s > 0)) throw new UsageError(`--timeout must be a number of seconds above 0, got "${value}"`);
      timeoutMs = s * 1000;
    } else if (name === '--vm-disk') {
      const m = /^(\d+)=(.+)$/.exec(value);
      if (!m) throw new UsageError(`--vm-disk must look like N=PATH, got "${value}"`);
      query.push([`vm${m[1]}.disk`, m[2]]);
    } else query.push([name.slice(2), value]);
  }
  const modes = query.filter(([k]) => k === 'mode');
  if (modes.length > 1) throw new UsageError('--warm and --cold exclude each other');
  const search = '?' + query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  const { config, errors } = parseConfig(search);
  // Flag names, not URL parameter names, in the message: "--vms must be from 0 to 6, got 9".
  if (errors.length) throw new UsageError(errors[0].message.replace(/^(vms|containers)\b/, '--$1').replace(/^vm(\d+)\.disk\b/, '--vm-disk $1'));
  return { config: { ...config, page: 'race' }, json, timeoutMs, help };
}
