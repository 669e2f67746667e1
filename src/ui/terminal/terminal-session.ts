/**
 * One xterm.js terminal per machine console, alive for the machine's whole life: it receives every
 * byte from boot on (xterm parses into its buffer before it is ever shown), and is attached to the
 * page only while visible. WebGL is loaded only while attached (browsers cap live WebGL contexts)
 * and falls back to the DOM renderer. Rendering pace drives the credit given back to the worker.
 *
 * xterm itself is loaded lazily (xterm-modules.ts): a session made before it is there keeps the
 * bytes, the size and the handlers asked for, and hands them to its Terminal, in order, once it is
 * built. Credit for those bytes is given back only once xterm has parsed them, as for any byte.
 */
import type { ITheme, Terminal } from '@xterm/xterm';
import type { FitAddon } from '@xterm/addon-fit';
import type { SearchAddon } from '@xterm/addon-search';
import type { WebglAddon } from '@xterm/addon-webgl';
import { CreditReturner } from '../../core/machine/index.ts';
import { SHELL_MARK_OSC, ShellPromptTracker, parseShellMark } from '../../core/terminal/shell-marks.ts';
import { nextTask } from '../shared/next-task.ts';

const THEME: ITheme = {
  background: '#0d1117',
  foreground: '#e6edf3',
  cursor: '#f0b429',
  selectionBackground: '#3b5070',
  black: '#0d1117',
  brightBlack: '#6e7681',
};

export interface TerminalIo {
  /** Keystrokes and terminal replies, to the guest. */
  input(bytes: Uint8Array): void;
  /** Rendered bytes, returned as credit to the producer. */
  credit(bytes: number): void;
  /** The terminal's size changed (container terminals tell their pty over the mux). */
  resize?(cols: number, rows: number): void;
  /**
   * A serial console has no out-of-band size: when set, the size is told to the guest's shell as
   * `stty rows R cols C`, typed only when the shell is idle at an empty prompt it marked itself
   * (OSC 133, see src/core/terminal/shell-marks.ts and tellSerialSize).
   */
  serialShell?: boolean;
}

const encoder = new TextEncoder();

type XtermModules = typeof import('./xterm-modules.ts');
let xtermModules: Promise<XtermModules> | undefined;
/**
 * Load xterm and its addons (once per page; a failed load is tried again by the next caller).
 * Call it early where a terminal will surely be needed (the page does, after its first render).
 */
export function loadXterm(): Promise<XtermModules> {
  xtermModules ??= import('./xterm-modules.ts');
  xtermModules.catch(() => (xtermModules = undefined));
  return xtermModules;
}

let hardwareGl: boolean | undefined;
let webglModule: Promise<typeof import('@xterm/addon-webgl')> | undefined;
const loadWebgl = () => (webglModule ??= import('@xterm/addon-webgl'));
/**
 * Whether WebGL here is hardware accelerated. Software WebGL (SwiftShader, llvmpipe: no GPU, or
 * --disable-gpu) renders a busy terminal far slower than the DOM renderer: in a 1 MB console
 * flood it caused main-thread tasks of 400+ ms where the DOM renderer caused none.
 */
function hardwareWebgl(): boolean {
  if (hardwareGl === undefined) {
    const canvas = document.createElement('canvas');
    const gl = canvas.getContext('webgl2', { failIfMajorPerformanceCaveat: true });
    // Chromium still hands out SwiftShader contexts despite the caveat flag; the renderer name tells.
    const info = gl?.getExtension('WEBGL_debug_renderer_info');
    const name = gl ? String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER)) : '';
    hardwareGl = !!gl && !/swiftshader|llvmpipe|softpipe|software/i.test(name);
    gl?.getExtension('WEBGL_lose_context')?.loseContext();
  }
  return hardwareGl;
}

/** The terminals' font, also warmed at start-up (see warmPageFonts). */
export const TERMINAL_FONT = { family: '"DejaVu Sans Mono", "Cascadia Mono", Menlo, Consolas, monospace', sizes: [15] };

export class TerminalSession {
  private xterm: { term: Terminal; fit: FitAddon; search: SearchAddon } | undefined;
  /** Until xterm is built: bytes to write, in order, and setups to run on the Terminal first. */
  private pending: Uint8Array[] = [];
  private setups: ((term: Terminal) => void)[] = [];
  private fontSize = TERMINAL_FONT.sizes[0];
  /** Why xterm could not be loaded, if it could not (shown where the terminal would be). */
  loadError: string | undefined;
  private readonly host: HTMLDivElement;
  private readonly credits: CreditReturner;
  /** Serial consoles: whether the guest's shell is idle at a marked, empty prompt. */
  private readonly shell = new ShellPromptTracker();
  private webgl: WebglAddon | undefined;
  private opened = false;
  private focusOnOpen = false;
  private disposed = false;
  private resizeObserver: ResizeObserver | undefined;
  /** Which renderer is in use while attached, for the UI and tests. */
  renderer: 'webgl' | 'dom' | 'none' = 'none';
  /** The size the guest was last told ("cols x rows"), for serial consoles. */
  private toldSize = '';
  private sizeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Ctrl+Shift+F asks the view to open its search box. */
  onSearchRequest: (() => void) | undefined;
  /** Resolves once xterm is built (rejects if it could not be loaded). */
  readonly loaded: Promise<void>;

  constructor(private readonly io: TerminalIo) {
    this.credits = new CreditReturner((n) => io.credit(n));
    this.host = document.createElement('div');
    this.host.className = 'xterm-host';
    // Right-click copies the selection, or pastes when nothing is selected (as PuTTY does).
    this.host.addEventListener('contextmenu', (e) => {
      e.preventDefault();
      if (this.xterm?.term.hasSelection()) void this.copy();
      else void this.paste();
    });
    this.loaded = loadXterm().then(
      // Each Terminal is built in a task of its own: a race makes up to 19 sessions at once, and
      // their Terminals built together were about 20 ms of the race's first task (issue 10 item 6).
      (m) => nextTask().then(() => this.build(m)),
      (err: unknown) => {
        this.loadError = err instanceof Error ? err.message : String(err);
        this.dropPending(); // nothing will parse them: their credit goes back, so the guest is not held
        this.host.textContent = `The terminal could not be loaded (${this.loadError}): check the connection, then reload the page.`;
        throw err;
      },
    );
    this.loaded.catch(() => {}); // shown on the terminal's place; callers that wait see the rejection
  }

  /** The xterm Terminal; throws while xterm is still loading (wait for `loaded`). */
  get term(): Terminal {
    if (!this.xterm) throw new Error(this.loadError ? `the terminal could not be loaded: ${this.loadError}` : 'the terminal is still loading');
    return this.xterm.term;
  }

  /** Search in the console; undefined while xterm is loading. */
  get search(): SearchAddon | undefined {
    return this.xterm?.search;
  }

  /** Run `setup` on the Terminal before it parses any byte (now, if it is already built). */
  configure(setup: (term: Terminal) => void): void {
    if (this.xterm) setup(this.xterm.term);
    else this.setups.push(setup);
  }

  private build({ Terminal, FitAddon, SearchAddon, WebLinksAddon }: XtermModules) {
    if (this.disposed) return;
    const io = this.io;
    const term = new Terminal({
      fontFamily: TERMINAL_FONT.family,
      fontSize: this.fontSize,
      scrollback: 5000,
      theme: THEME,
      cursorBlink: true,
      convertEol: false,
      allowProposedApi: true,
    });
    const fit = new FitAddon();
    const search = new SearchAddon();
    term.loadAddon(fit);
    term.loadAddon(search);
    term.loadAddon(new WebLinksAddon());
    term.onData((s) => this.userInput(encoder.encode(s)));
    term.onBinary((s) => this.userInput(Uint8Array.from(s, (c) => c.charCodeAt(0))));
    term.attachCustomKeyEventHandler((e) => this.clipboardKeys(e));
    if (io.resize) term.onResize(({ cols, rows }) => io.resize!(cols, rows));
    if (io.serialShell) {
      term.onResize(() => this.tellSerialSizeSoon());
      term.parser.registerOscHandler(SHELL_MARK_OSC, (payload) => {
        const mark = parseShellMark(payload);
        if (mark) this.shell.mark(mark);
        // The prompt has ended: if the size changed while a program ran, this is the time to tell.
        if (mark?.kind === 'B') this.tellSerialSizeSoon();
        return true;
      });
    }
    for (const setup of this.setups.splice(0)) setup(term);
    this.xterm = { term, fit, search };
    for (const bytes of this.pending.splice(0)) this.parse(bytes);
    if (this.host.isConnected) this.open();
  }

  write(bytes: Uint8Array): void {
    this.credits.written(bytes.length);
    if (this.xterm) this.parse(bytes);
    else if (!this.loadError) this.pending.push(bytes);
    else this.credits.done(bytes.length); // no terminal to show them: the credit still goes back
  }

  /** Forget bytes not yet handed to xterm, giving their credit back: credit kept for bytes that will
   *  never be parsed would shrink the guest's window for good (src/core/machine/flow.ts). */
  private dropPending() {
    const n = this.pending.reduce((sum, b) => sum + b.length, 0);
    this.pending = [];
    if (n) this.credits.done(n);
  }

  private parse(bytes: Uint8Array) {
    const n = bytes.length;
    this.xterm!.term.write(bytes, () => this.credits.done(n));
  }

  /** Clear the screen and scrollback (a power cycle, a resume): bytes not yet parsed go too. */
  reset(): void {
    this.dropPending();
    this.xterm?.term.reset();
  }

  /** Show the terminal inside `container`; WebGL while shown, DOM if WebGL is unavailable. */
  attach(container: HTMLElement): void {
    container.append(this.host);
    this.resizeObserver = new ResizeObserver(() => this.refit());
    this.resizeObserver.observe(container);
    if (this.xterm) this.open();
  }

  /** Attached and xterm built: open it in its host, pick the renderer, fit. */
  private open() {
    if (!this.opened) {
      this.term.open(this.host);
      this.opened = true;
      if (this.focusOnOpen) this.term.focus();
    }
    this.enableWebgl();
    this.refit();
    if (this.io.serialShell) this.tellSerialSizeSoon();
  }

  detach(): void {
    this.resizeObserver?.disconnect();
    this.resizeObserver = undefined;
    this.webgl?.dispose();
    this.webgl = undefined;
    this.renderer = 'none';
    this.host.remove();
  }

  /** Focus the terminal (once it is open, if xterm is still loading). */
  focus(): void {
    if (this.opened) this.term.focus();
    else this.focusOnOpen = true;
  }

  /** The terminal's text, one string per buffer line; only the last `last` lines if given (tests, panic card). */
  lines(last = Infinity): string[] {
    if (!this.xterm) return [];
    const buf = this.xterm.term.buffer.active;
    const out: string[] = [];
    for (let i = Math.max(0, buf.length - last); i < buf.length; i++) out.push(buf.getLine(i)?.translateToString(true) ?? '');
    return out;
  }

  dispose(): void {
    this.disposed = true;
    this.pending = [];
    clearTimeout(this.sizeTimer);
    this.detach();
    this.xterm?.term.dispose();
  }

  /** Larger or smaller type (the presenter toggle); the terminal refits its columns and rows. */
  setFontSize(px: number): void {
    this.fontSize = px;
    if (!this.xterm || this.xterm.term.options.fontSize === px) return;
    this.xterm.term.options.fontSize = px;
    this.refit();
  }

  private refit() {
    if (!this.xterm || !this.host.isConnected || !this.host.clientWidth) return;
    try {
      // Serial consoles cannot be told the size (the guest wraps at 80 columns); container ptys are, via io.resize.
      this.xterm.fit.fit();
    } catch {
      /* not rendered yet */
    }
  }

  /**
   * The WebGL addon (127 kB) is loaded only where WebGL is hardware accelerated, and only when a
   * terminal is first shown: the DOM renderer draws until it is there. Machines without a GPU (and
   * the page's start-up everywhere) never evaluate it.
   */
  private enableWebgl() {
    if (this.webgl) return;
    this.renderer = 'dom';
    if (!hardwareWebgl()) return;
    void loadWebgl().then(
      ({ WebglAddon }) => {
        // Detached (renderer 'none') or already switched while the addon was loading.
        if (this.renderer !== 'dom' || this.webgl || !this.host.isConnected) return;
        this.useWebgl(new WebglAddon());
      },
      () => {
        /* the addon did not load (offline without it): the DOM renderer stays */
      },
    );
  }

  private useWebgl(webgl: WebglAddon) {
    try {
      webgl.onContextLoss(() => {
        webgl.dispose();
        this.webgl = undefined;
        this.renderer = 'dom';
      });
      this.term.loadAddon(webgl);
      this.webgl = webgl;
      this.renderer = 'webgl';
    } catch {
      this.renderer = 'dom';
    }
  }

  /** Copy the selection to the clipboard; resolves to what was copied. */
  async copy(): Promise<string> {
    const text = this.xterm?.term.getSelection() ?? '';
    if (text) await navigator.clipboard?.writeText(text);
    return text;
  }

  /** Paste the clipboard into the guest (bracketed paste if the guest asked for it). */
  async paste(): Promise<void> {
    const text = await navigator.clipboard?.readText();
    if (text) this.xterm?.term.paste(text);
  }

  /** Keys, pastes and terminal replies: to the guest, and followed so the size line never lands amid them. */
  private userInput(bytes: Uint8Array) {
    this.shell.input(bytes);
    this.io.input(bytes);
  }

  private tellSerialSizeSoon() {
    if (!this.host.isConnected) return;
    clearTimeout(this.sizeTimer);
    this.sizeTimer = setTimeout(() => this.tellSerialSize(), 250);
  }

  /**
   * Serial consoles: tell the guest's shell the terminal's size with `stty`, but only when the
   * size differs from what it was told and the shell is idle at a prompt it marked, with nothing
   * typed and nothing unread: text that merely looks like a prompt may be vi or `cat > file`.
   * Otherwise it waits for the next prompt-end mark. Debounced: a drag-resize sends one line.
   */
  private tellSerialSize() {
    if (!this.xterm || !this.host.isConnected) return; // hidden: its size is not the user's
    const size = `${this.term.cols}x${this.term.rows}`;
    if (size === this.toldSize || !this.shell.idle) return;
    this.toldSize = size;
    const line = encoder.encode(`stty rows ${this.term.rows} cols ${this.term.cols}\r`);
    this.shell.input(line);
    this.io.input(line);
  }

  /** Ctrl+Shift+C / V copy and paste, Ctrl+Shift+F search; plain Ctrl+C stays an interrupt for the guest. */
  private clipboardKeys(e: KeyboardEvent): boolean {
    if (e.type !== 'keydown' || !e.ctrlKey || !e.shiftKey) return true;
    const key = e.key.toLowerCase();
    if (key === 'c' && this.term.hasSelection()) {
      void this.copy();
      return false;
    }
    if (key === 'v') {
      // The browser's own paste (Ctrl+Shift+V is "paste as plain text") reaches xterm's textarea
      // as a paste event; pasting here as well would type it twice. Only keep ^V from the guest.
      return false;
    }
    if (key === 'f' && this.onSearchRequest) {
      e.preventDefault();
      this.onSearchRequest();
      return false;
    }
    return true;
  }
}
