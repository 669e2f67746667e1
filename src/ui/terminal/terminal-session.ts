/**
 * One xterm.js terminal per machine console, alive for the machine's whole life: it receives every
 * byte from boot on (xterm parses into its buffer before it is ever shown), and is attached to the
 * page only while visible. WebGL is loaded only while attached (browsers cap live WebGL contexts)
 * and falls back to the DOM renderer. Rendering pace drives the credit given back to the worker.
 */
import { Terminal, type ITheme } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { SearchAddon } from '@xterm/addon-search';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { WebglAddon } from '@xterm/addon-webgl';
import { CreditReturner } from '../../core/machine/index.ts';

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
  /** The terminal's size changed (container terminals tell their pty; serial consoles cannot). */
  resize?(cols: number, rows: number): void;
}

const encoder = new TextEncoder();

let hardwareGl: boolean | undefined;
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
  readonly term: Terminal;
  readonly search = new SearchAddon();
  private readonly fit = new FitAddon();
  private readonly host: HTMLDivElement;
  private readonly credits: CreditReturner;
  private webgl: WebglAddon | undefined;
  private opened = false;
  private resizeObserver: ResizeObserver | undefined;
  /** Which renderer is in use while attached, for the UI and tests. */
  renderer: 'webgl' | 'dom' | 'none' = 'none';

  constructor(private readonly io: TerminalIo) {
    this.term = new Terminal({
      fontFamily: TERMINAL_FONT.family,
      fontSize: TERMINAL_FONT.sizes[0],
      scrollback: 5000,
      theme: THEME,
      cursorBlink: true,
      convertEol: false,
      allowProposedApi: true,
    });
    this.term.loadAddon(this.fit);
    this.term.loadAddon(this.search);
    this.term.loadAddon(new WebLinksAddon());
    this.credits = new CreditReturner((n) => io.credit(n));
    this.term.onData((s) => io.input(encoder.encode(s)));
    this.term.onBinary((s) => io.input(Uint8Array.from(s, (c) => c.charCodeAt(0))));
    this.term.attachCustomKeyEventHandler((e) => this.clipboardKeys(e));
    if (io.resize) this.term.onResize(({ cols, rows }) => io.resize!(cols, rows));
    this.host = document.createElement('div');
    this.host.className = 'xterm-host';
  }

  write(bytes: Uint8Array): void {
    const n = bytes.length;
    this.credits.written(n);
    this.term.write(bytes, () => this.credits.done(n));
  }

  /** Show the terminal inside `container`; WebGL while shown, DOM if WebGL is unavailable. */
  attach(container: HTMLElement): void {
    container.append(this.host);
    if (!this.opened) {
      this.term.open(this.host);
      this.opened = true;
    }
    this.enableWebgl();
    this.resizeObserver = new ResizeObserver(() => this.refit());
    this.resizeObserver.observe(container);
    this.refit();
  }

  detach(): void {
    this.resizeObserver?.disconnect();
    this.resizeObserver = undefined;
    this.webgl?.dispose();
    this.webgl = undefined;
    this.renderer = 'none';
    this.host.remove();
  }

  focus(): void {
    this.term.focus();
  }

  /** The terminal's text, one string per buffer line; only the last `last` lines if given (tests, panic card). */
  lines(last = Infinity): string[] {
    const buf = this.term.buffer.active;
    const out: string[] = [];
    for (let i = Math.max(0, buf.length - last); i < buf.length; i++) out.push(buf.getLine(i)?.translateToString(true) ?? '');
    return out;
  }

  dispose(): void {
    this.detach();
    this.term.dispose();
  }

  private refit() {
    if (!this.host.isConnected || !this.host.clientWidth) return;
    try {
      // Serial consoles cannot be told the size (the guest wraps at 80 columns); container ptys are, via io.resize.
      this.fit.fit();
    } catch {
      /* not rendered yet */
    }
  }

  private enableWebgl() {
    if (this.webgl) return;
    if (!hardwareWebgl()) {
      this.renderer = 'dom';
      return;
    }
    try {
      const webgl = new WebglAddon();
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

  /** Ctrl+Shift+C / Ctrl+Shift+V copy and paste; plain Ctrl+C stays an interrupt for the guest. */
  private clipboardKeys(e: KeyboardEvent): boolean {
    if (e.type !== 'keydown' || !e.ctrlKey || !e.shiftKey) return true;
    const key = e.key.toLowerCase();
    if (key === 'c' && this.term.hasSelection()) {
      void navigator.clipboard?.writeText(this.term.getSelection());
      return false;
    }
    if (key === 'v') {
      void navigator.clipboard?.readText().then((t) => this.term.paste(t));
      return false;
    }
    return true;
  }
}
