/**
 * The race setup in the URL, so a class can share and repeat it:
 *   ?vms=2&containers=4&mode=cold            (race, the default page; mode=warm, the default, starts
 *                                             the containers on a host that is already running)
 *   ?page=lab                                 (free play)
 *   ?page=compare                             (the containers-vs-VMs table, one experiment per row)
 *   ?page=class                               (the class board: students' exported lesson results side by side)
 *   ?lesson=one-kernel&step=2                 (the lab with a lesson's panel, at a step; src/lessons)
 *   &vm2.disk=/images/vm/other.img            (a different disk for one VM, e.g. to show a bad URL)
 * Parsing never throws: bad values fall back to the default and come back as readable errors.
 */

export const LIMITS = { vms: { min: 0, max: 6 }, containers: { min: 0, max: 12 } } as const;

/**
 * How the containers start in a race. 'warm' (the default, as with a Docker host): the container
 * host boots before the race, once, and the containers start on it while the VMs power on cold.
 * 'cold': the host powers on with the VMs and the containers start when it is ready.
 */
export type RaceMode = 'cold' | 'warm';
export type PageName = 'race' | 'lab' | 'compare' | 'class';

export interface LabConfig {
  page: PageName;
  vms: number;
  containers: number;
  mode: RaceMode;
  /** Per-VM disk URL overrides, keyed by VM number (1-based). */
  vmDisks: Record<number, string>;
  /** Start the race as soon as the page loads (for shared links and tests). */
  autostart: boolean;
  /** A lesson to open beside the lab's machines (its folder name in src/lessons), and the step (1-based) to open it at. */
  lesson?: string;
  step?: number;
}

export interface ConfigError {
  param: string;
  value: string;
  message: string;
}

export const DEFAULT_CONFIG: LabConfig = { page: 'race', vms: 2, containers: 3, mode: 'warm', vmDisks: {}, autostart: false };

/** Minimal query-string handling (src/core has no DOM, so no URLSearchParams). */
class Query {
  readonly entries: [string, string][] = [];
  constructor(search: string, errors: ConfigError[]) {
    for (const part of search.replace(/^\?/, '').split('&')) {
      if (!part) continue;
      const eq = part.indexOf('=');
      const rawKey = eq < 0 ? part : part.slice(0, eq);
      const rawValue = eq < 0 ? '' : part.slice(eq + 1);
      try {
        this.entries.push([decodeURIComponent(rawKey.replace(/\+/g, ' ')), decodeURIComponent(rawValue.replace(/\+/g, ' '))]);
      } catch {
        errors.push({ param: rawKey, value: rawValue, message: `"${part}" is not valid URL encoding` });
      }
    }
  }
  get(name: string): string | null {
    const hit = this.entries.find(([k]) => k === name);
    return hit ? hit[1] : null;
  }
}

function intParam(params: Query, name: 'vms' | 'containers', errors: ConfigError[], fallback: number): number {
  const raw = params.get(name);
  if (raw === null) return fallback;
  const { min, max } = LIMITS[name];
  if (!/^\d+$/.test(raw.trim())) {
    errors.push({ param: name, value: raw, message: `${name} must be a whole number from ${min} to ${max}, got "${raw}"` });
    return fallback;
  }
  const n = Number(raw);
  if (n < min || n > max) {
    errors.push({ param: name, value: raw, message: `${name} must be from ${min} to ${max}, got ${n}` });
    return Math.min(max, Math.max(min, n));
  }
  return n;
}

function oneOf<T extends string>(params: Query, name: string, allowed: readonly T[], fallback: T, errors: ConfigError[]): T {
  const raw = params.get(name);
  if (raw === null) return fallback;
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  errors.push({ param: name, value: raw, message: `${name} must be ${allowed.map((a) => `"${a}"`).join(' or ')}, got "${raw}"` });
  return fallback;
}

const KNOWN = new Set(['page', 'vms', 'containers', 'mode', 'autostart', 'lesson', 'step']);

export function parseConfig(search: string): { config: LabConfig; errors: ConfigError[] } {
  const errors: ConfigError[] = [];
  const params = new Query(search, errors);
  const config: LabConfig = {
    page: oneOf(params, 'page', ['race', 'lab', 'compare', 'class'] as const, DEFAULT_CONFIG.page, errors),
    vms: intParam(params, 'vms', errors, DEFAULT_CONFIG.vms),
    containers: intParam(params, 'containers', errors, DEFAULT_CONFIG.containers),
    mode: oneOf(params, 'mode', ['cold', 'warm'] as const, DEFAULT_CONFIG.mode, errors),
    vmDisks: {},
    autostart: false,
  };
  const auto = params.get('autostart');
  if (auto !== null) {
    if (auto === '' || auto === '1' || auto === 'true') config.autostart = true;
    else if (auto !== '0' && auto !== 'false') errors.push({ param: 'autostart', value: auto, message: `autostart must be 1 or 0, got "${auto}"` });
  }
  const lesson = params.get('lesson');
  if (lesson !== null) {
    // A lesson is taught in the lab, beside its machines.
    if (params.get('page') === null) config.page = 'lab';
    // A shipped lesson's name, or the URL of a lesson folder on another site (src/ui/lessons/load-lesson.ts).
    if (/^[a-z0-9][a-z0-9-]{0,47}$/.test(lesson) || /^(https?:\/\/|\.{0,2}\/)\S+$/.test(lesson)) config.lesson = lesson;
    else
      errors.push({
        param: 'lesson',
        value: lesson,
        message: `lesson must be a lesson's name (lower-case letters, digits, "-") or a folder's URL, got "${lesson}"`,
      });
  }
  const step = params.get('step');
  if (step !== null) {
    const n = Number(step);
    if (Number.isInteger(n) && n >= 1 && n <= 99) config.step = n;
    else errors.push({ param: 'step', value: step, message: `step must be a step number from 1, got "${step}"` });
  }
  for (const [key, value] of params.entries) {
    const disk = /^vm(\d+)\.disk$/.exec(key);
    if (disk) {
      const n = Number(disk[1]);
      if (n < 1 || n > LIMITS.vms.max) errors.push({ param: key, value, message: `${key}: there is no VM ${n} (VMs are numbered 1 to ${LIMITS.vms.max})` });
      else if (!value) errors.push({ param: key, value, message: `${key} needs a URL` });
      else config.vmDisks[n] = value;
    } else if (!KNOWN.has(key)) {
      errors.push({ param: key, value, message: `unknown setting "${key}" (known: ${[...KNOWN].join(', ')}, vmN.disk)` });
    }
  }
  if (config.page === 'race' && config.vms + config.containers === 0) {
    errors.push({ param: 'vms', value: '0', message: 'a race needs at least one VM or one container' });
    config.vms = DEFAULT_CONFIG.vms;
  }
  return { config, errors };
}

/** The query string for a config; defaults are left out so shared links stay short. */
export function formatConfig(config: LabConfig): string {
  const params: [string, string][] = [];
  if (config.page !== DEFAULT_CONFIG.page) params.push(['page', config.page]);
  params.push(['vms', String(config.vms)], ['containers', String(config.containers)], ['mode', config.mode]);
  for (const [n, url] of Object.entries(config.vmDisks)) params.push([`vm${n}.disk`, url]);
  if (config.autostart) params.push(['autostart', '1']);
  if (config.lesson) params.push(['lesson', config.lesson]);
  if (config.lesson && config.step) params.push(['step', String(config.step)]);
  return '?' + params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}
