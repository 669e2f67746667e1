/**
 * The lesson format (src/lessons/README.md): what a parsed lesson is. A lesson is a folder of Markdown:
 * `lesson.md` (front matter + introduction) and its steps; each step may carry scripts in fenced
 * blocks whose info string names the phase and the machine: ```` ```verify vm1 ````.
 */

/** When a step's script runs: `setup` before the step, `verify` for its check, `solve` for "Show me". */
export type ScriptPhase = 'setup' | 'verify' | 'solve';
export const SCRIPT_PHASES: readonly ScriptPhase[] = ['setup', 'verify', 'solve'];

/**
 * Where a script runs. `vm1`…`vm6`: a VM (through its lesson agent on ttyS1); `host`: the container
 * host (boxd's HOST_EXEC); any other name: the container of that name (boxd's EXEC); `page`: facts
 * the page measured (`page` scripts list fact names, one per line, that must be known).
 */
export type MachineName = string;

export interface StepScript {
  phase: ScriptPhase;
  machine: MachineName;
  /** The script's text: a POSIX sh script (busybox ash), or fact names for `page`. */
  source: string;
}

export interface LessonStep {
  /** 1-based, as in `?step=`. */
  index: number;
  title: string;
  /** The step's Markdown without its script and hint blocks (rendered and sanitised by the page). */
  markdown: string;
  /** One line shown when its check fails. */
  hint: string;
  scripts: StepScript[];
  /** The file the step came from, for messages. */
  file: string;
}

export interface Lesson {
  id: string;
  title: string;
  /** Planned length in minutes. */
  minutes: number;
  /** Every machine the lesson's scripts name (from the front matter), in order. */
  machines: MachineName[];
  /** The introduction (Markdown). */
  intro: string;
  steps: LessonStep[];
}

/** A problem in a lesson's files: which file, and what is wrong with it, in one sentence. */
export interface LessonProblem {
  /** The file inside the lesson folder, or "" for the lesson as a whole (an unknown id). */
  file: string;
  message: string;
}

/** Machine kinds a script can name. */
export type MachineRole = 'vm' | 'host' | 'container' | 'page';

/** `vm1`…`vm6` are VMs (the lab's ids), `host` the container host, `page` the page; other names containers. */
export function machineRole(name: MachineName): MachineRole {
  if (/^vm[1-6]$/.test(name)) return 'vm';
  if (name === 'host') return 'host';
  if (name === 'page') return 'page';
  return 'container';
}

/** Container names as Docker allows them (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`), here at most 32 characters. */
export const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,31}$/;

/** Lesson ids: folder names, lower case, as they appear in `?lesson=`. */
export const LESSON_ID = /^[a-z0-9][a-z0-9-]{0,47}$/;
