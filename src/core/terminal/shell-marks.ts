/**
 * Whether a console's shell is idle at its prompt, so the page may type a line of its own into it
 * (today only `stty rows R cols C`: a serial console has no other way to tell the guest its size).
 *
 * The guests' shells mark their prompts with the shell-integration escape sequences VS Code,
 * iTerm2 and Windows Terminal use (OSC 133, "FinalTerm" marks), set in PS1 by the guests'
 * /etc/profile:
 *
 *   ESC ] 133 ; D ; <exit> ST   the previous command ended (ash prints it at the prompt's start)
 *   ESC ] 133 ; A ST            the prompt starts
 *   ESC ] 133 ; B ST            the prompt ends: the shell reads a command line from here
 *   ESC ] 133 ; C ST            a command runs (shells with a pre-exec hook; busybox ash has none)
 *
 * Only marks count: output that merely looks like a prompt ("# " before the cursor) may be vi's
 * screen or a file being written, and is never taken for one.
 *
 * The other half is what the page itself sent. The shell reads keys from the console's input
 * queue, and keys the page sent earlier may still sit there unread (typed ahead while a program
 * ran). So the tracker follows every byte the page sends, and the console counts as idle only
 * when, at a marked prompt, nothing is typed on the line and nothing the page sent can still be
 * waiting to be read:
 *
 * - A line typed at a marked prompt (or before the first one: getty reading "root") and ended by
 *   Enter, with nothing after the Enter, is the whole of what the shell reads: the next prompt
 *   starts empty. Line-editing keys before the Enter (arrows, backspace, tab, ^U, ^W…) are fine.
 * - Anything else makes the queue uncertain: keys sent while a command runs (they belong to the
 *   program, or wait for the next prompt), keys after the Enter, ^C or ^D (the line read ends
 *   early and the rest is read by whatever comes next). Uncertainty ends only when the user ends
 *   a line at a marked prompt as above.
 *
 * What this cannot see: a whole line typed ahead while one program ran that no program then read
 * (it runs at the next prompt, and the page's line would follow it), and a program that prints
 * the marks itself. Both need the user or a program to do it on purpose.
 */

/** One OSC 133 mark, from the text after "133;" (xterm.js hands handlers the text after "133;"). */
export type ShellMark = { kind: 'A' } | { kind: 'B' } | { kind: 'C' } | { kind: 'D'; exitCode?: number };

/**
 * Read an OSC 133 payload ("A", "B", "C", "D", "D;0", with optional ";key=value" options as VS Code
 * sends). Anything else (other FinalTerm letters, garbage) is undefined and ignored.
 */
export function parseShellMark(payload: string): ShellMark | undefined {
  const [kind, ...rest] = payload.split(';');
  if (kind === 'A' || kind === 'B' || kind === 'C') return { kind };
  if (kind !== 'D') return undefined;
  const code = rest[0] !== undefined && /^\d+$/.test(rest[0]) ? Number(rest[0]) : undefined;
  return code === undefined ? { kind } : { kind, exitCode: code };
}

/** The OSC number of the shell-integration marks (`term.parser.registerOscHandler(SHELL_MARK_OSC, …)`). */
export const SHELL_MARK_OSC = 133;

/**
 * What a driver that reads the raw console waits for after a root shell's prompt: "# ", then the
 * prompt-end mark, then possibly busybox ash's cursor query (ESC [6n), and nothing after.
 * A RegExp source, for `new RegExp(ROOT_PROMPT_END, 'm')` and for patterns sent to the worker.
 */
export const ROOT_PROMPT_END = '# (?:\\x1b\\]133;B(?:\\x1b\\\\|\\x07))?(?:\\x1b\\[6n)?$';

/** Where the console is, as far as the marks tell. */
type Phase =
  /** No mark seen yet: something reads the console (getty, a shell…), we do not know what. */
  | 'start'
  /** Between A and B: the prompt is being printed. */
  | 'prompt'
  /** After B: a shell's line editor reads a command line. */
  | 'reading'
  /** A line was ended at the prompt (Enter), or C/D came: a command runs; no prompt is reading. */
  | 'busy';

/** What the console's input holds, as far as the bytes the page sent tell. */
type Line =
  /** Nothing unread and nothing typed on the line. */
  | 'empty'
  /** Keys typed at a marked prompt, no Enter yet: the shell's line is not empty. */
  | 'typed'
  /** Bytes that some program, or a later prompt, may still read. */
  | 'uncertain';

/**
 * Follows one console: the OSC 133 marks its output carries and every byte the page sends to it,
 * and answers whether a shell is idle at a marked, empty prompt (see the module comment for the
 * rules). DOM-free; the page feeds it from xterm.js's OSC handler and its key handler.
 */
export class ShellPromptTracker {
  private phase: Phase = 'start';
  private line: Line = 'empty';
  /** Every byte sent since the last B (or since the start) was a line-editing key. */
  private editingOnly = true;

  /** A mark parsed from the console's output (see parseShellMark). */
  mark(mark: ShellMark): void {
    switch (mark.kind) {
      case 'A':
        this.phase = 'prompt';
        break;
      case 'B':
        // A fresh prompt after a clean Enter starts empty; a redraw of the same prompt (ash
        // reprints it after a tab-completion list or ^L) keeps what was typed; uncertainty stays.
        this.phase = 'reading';
        this.editingOnly = true;
        break;
      case 'C':
      case 'D':
        this.phase = 'busy';
        break;
    }
  }

  /**
   * Bytes the page sent to the console: keys, pastes, terminal replies, and the page's own lines.
   * Cursor-position reports (xterm's answer to ash's ESC [6n) are read by whoever asked, and are
   * not typing: they are ignored.
   */
  input(bytes: Uint8Array | string): void {
    const text = withoutCursorReports(typeof bytes === 'string' ? bytes : latin1(bytes));
    if (!text) return;
    if (this.phase !== 'reading' && this.phase !== 'start') {
      // Typed while no prompt reads: the running program takes it, or it waits in the queue.
      this.line = 'uncertain';
      return;
    }
    const end = lineEnd(text);
    const keys = end < 0 ? text : text.slice(0, end);
    this.editingOnly &&= onlyEditingKeys(keys);
    if (!this.editingOnly) {
      // ^C, ^D and the like end the line read early; what follows goes to whatever reads next.
      this.line = 'uncertain';
      if (end >= 0) this.phase = 'busy';
      return;
    }
    if (end < 0) {
      // Still editing the line. A line already uncertain stays so until it is ended cleanly.
      if (this.line === 'empty') this.line = 'typed';
      return;
    }
    // Enter: the line editor reads the line, up to and including this Enter, as one command.
    this.phase = 'busy';
    this.line = end === text.length - 1 ? 'empty' : 'uncertain';
  }

  /** True only at a marked prompt with nothing typed on it and nothing unread: the page may type. */
  get idle(): boolean {
    return this.phase === 'reading' && this.line === 'empty';
  }
}

const CURSOR_REPORT = /\x1b\[\d+;\d+R/g;

function withoutCursorReports(text: string): string {
  return text.replace(CURSOR_REPORT, '');
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** Index of the first Enter (CR) or ^J (LF), which end a line in ash's line editor; -1 if none. */
function lineEnd(text: string): number {
  const cr = text.indexOf('\r');
  const lf = text.indexOf('\n');
  if (cr < 0) return lf;
  if (lf < 0) return cr;
  return Math.min(cr, lf);
}

/**
 * Control keys busybox's line editor takes as edits of the current line (^A ^B ^E ^F ^H tab ^K
 * ^L ^N ^P ^R ^U ^W, DEL); every other control ends the read (^C, ^D), stops output (^S), means
 * "literal next" (^V) or is unknown: all of those make the queue uncertain.
 */
const EDITING_CONTROLS = new Set([0x01, 0x02, 0x05, 0x06, 0x08, 0x09, 0x0b, 0x0c, 0x0e, 0x10, 0x12, 0x15, 0x17, 0x7f]);

/** CSI (ESC [ … final) and SS3 (ESC O x) sequences: arrows, Home/End, Delete, bracketed-paste brackets. */
const KEY_SEQUENCE = /^\x1b(?:\[[0-9;?<=>]*[ -/]*[@-~]|O[@-~])/;

/** Whether `keys` holds only printable text, line-editing controls and key sequences. */
function onlyEditingKeys(keys: string): boolean {
  for (let i = 0; i < keys.length; i++) {
    const c = keys.charCodeAt(i);
    if (c === 0x1b) {
      const seq = KEY_SEQUENCE.exec(keys.slice(i));
      if (!seq) return false; // a lone ESC: Alt-keys or vi mode, not plain editing
      i += seq[0].length - 1;
    } else if (c < 0x20 || c === 0x7f) {
      if (!EDITING_CONTROLS.has(c)) return false;
    }
  }
  return true;
}
