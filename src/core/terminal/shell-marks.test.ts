import { describe, expect, it } from 'vitest';
import { ROOT_PROMPT_END, ShellPromptTracker, parseShellMark, type ShellMark } from './shell-marks.ts';

const A: ShellMark = { kind: 'A' };
const B: ShellMark = { kind: 'B' };
const C: ShellMark = { kind: 'C' };
const D: ShellMark = { kind: 'D', exitCode: 0 };

/** A fresh prompt as the guests' PS1 prints it: D, A, the text, B. */
function prompt(t: ShellPromptTracker) {
  t.mark(D);
  t.mark(A);
  t.mark(B);
}

describe('parseShellMark', () => {
  it('reads the four marks, the exit code and VS Code style options', () => {
    expect(parseShellMark('A')).toEqual({ kind: 'A' });
    expect(parseShellMark('B')).toEqual({ kind: 'B' });
    expect(parseShellMark('C')).toEqual({ kind: 'C' });
    expect(parseShellMark('D')).toEqual({ kind: 'D' });
    expect(parseShellMark('D;130')).toEqual({ kind: 'D', exitCode: 130 });
    expect(parseShellMark('A;cl=m;aid=7')).toEqual({ kind: 'A' });
  });
  it('ignores what it does not know', () => {
    expect(parseShellMark('')).toBeUndefined();
    expect(parseShellMark('P;k=i')).toBeUndefined();
    expect(parseShellMark('AB')).toBeUndefined();
  });
});

describe('ShellPromptTracker', () => {
  it('is never idle without marks, however much the output looks like a prompt', () => {
    // The page learns nothing from unmarked output: the tracker is only ever fed marks.
    const t = new ShellPromptTracker();
    expect(t.idle).toBe(false);
    t.input('root\r');
    expect(t.idle).toBe(false);
  });

  it('is idle at a marked prompt with nothing typed (the host: a shell from boot on)', () => {
    const t = new ShellPromptTracker();
    prompt(t);
    expect(t.idle).toBe(true);
  });

  it('is idle at the first prompt after a login name typed at getty', () => {
    const t = new ShellPromptTracker();
    for (const k of 'root') t.input(k);
    t.input('\r');
    expect(t.idle).toBe(false);
    prompt(t);
    expect(t.idle).toBe(true);
  });

  it('waits while the user has typed on the line, through redraws, until the next prompt', () => {
    const t = new ShellPromptTracker();
    prompt(t);
    t.input('l');
    t.input('s');
    expect(t.idle).toBe(false);
    // ash reprints the prompt (marks included) after a tab-completion list: still not empty.
    t.input('\t');
    t.mark(A);
    t.mark(B);
    expect(t.idle).toBe(false);
    t.input('\r');
    expect(t.idle).toBe(false); // the command runs
    prompt(t);
    expect(t.idle).toBe(true);
  });

  it('a program running (C without D) is never idle, even if it prints a prompt-looking line', () => {
    const t = new ShellPromptTracker();
    prompt(t);
    t.input('vi /tmp/t.sh\r');
    t.mark(C);
    expect(t.idle).toBe(false);
    t.input('i');
    t.input('# ');
    expect(t.idle).toBe(false);
    t.mark(D); // it ended, but no prompt reads yet
    expect(t.idle).toBe(false);
  });

  it('after keys typed into a program (vi, cat > file), waits for a line ended at a prompt', () => {
    const t = new ShellPromptTracker();
    prompt(t);
    t.input('cat > /tmp/c.txt\r');
    t.input('hello\r');
    t.input('\x04'); // ^D ends cat
    prompt(t);
    // The keys went to cat, but the page cannot know none of them is still queued.
    expect(t.idle).toBe(false);
    t.input('cat /tmp/c.txt\r');
    prompt(t);
    expect(t.idle).toBe(true);
  });

  it('keys typed ahead while a command runs keep the next prompt uncertain', () => {
    const t = new ShellPromptTracker();
    prompt(t);
    t.input('sleep 5\r');
    t.input('vi x\r'); // typed during the sleep: the next prompt reads it at once
    prompt(t);
    expect(t.idle).toBe(false);
  });

  it('bytes after the Enter in one paste are typed ahead', () => {
    const t = new ShellPromptTracker();
    prompt(t);
    t.input('ls\rpwd');
    prompt(t);
    expect(t.idle).toBe(false);
  });

  it('^C or ^D at the prompt makes the queue uncertain until a clean line', () => {
    const t = new ShellPromptTracker();
    prompt(t);
    t.input('abc\x03');
    prompt(t);
    expect(t.idle).toBe(false);
    t.input('\r');
    prompt(t);
    expect(t.idle).toBe(true);
  });

  it('line-editing keys before Enter are fine; a lone ESC is not', () => {
    const t = new ShellPromptTracker();
    prompt(t);
    t.input('ls\x7f\x7fpwd\x1b[D\x1b[C\x15echo hi\x1bOH\r');
    prompt(t);
    expect(t.idle).toBe(true);
    t.input('\x1b');
    t.input('.\r');
    prompt(t);
    expect(t.idle).toBe(false);
  });

  it("ignores xterm's cursor-position reports (answers to ash's ESC [6n)", () => {
    const t = new ShellPromptTracker();
    prompt(t);
    t.input('\x1b[24;11R');
    expect(t.idle).toBe(true);
  });

  it("the page's own line ends the prompt like any command", () => {
    const t = new ShellPromptTracker();
    prompt(t);
    t.input('stty rows 30 cols 100\r');
    expect(t.idle).toBe(false);
    prompt(t);
    expect(t.idle).toBe(true);
  });

  it('keys typed while the prompt is being printed (between A and B) are uncertain', () => {
    const t = new ShellPromptTracker();
    t.mark(A);
    t.input('x');
    t.mark(B);
    expect(t.idle).toBe(false);
  });
});

describe('ROOT_PROMPT_END', () => {
  const re = new RegExp(ROOT_PROMPT_END, 'm');
  it("matches the guests' marked prompt, with or without ash's cursor query", () => {
    // Bytes as busybox 1.35 ash prints the guests' PS1 (seen on a pty).
    const marked = '\x1b]133;D;0\x1b\\\x1b]133;A\x1b\\vm:/root# \x1b]133;B\x1b\\';
    expect(re.test(marked)).toBe(true);
    expect(re.test(marked + '\x1b[6n')).toBe(true);
    expect(re.test('host:/# ')).toBe(true);
  });
  it('does not match a prompt with a command after it', () => {
    expect(re.test('vm:/root# \x1b]133;B\x1b\\ls')).toBe(false);
  });
});
