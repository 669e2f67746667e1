import { describe, it, expect, beforeAll } from 'vitest';

// TerminalSession needs only a host element until it is attached; xterm parses without a DOM.
beforeAll(() => {
  const element = () => ({ className: '', textContent: '', isConnected: false, addEventListener() {}, remove() {}, append() {} });
  (globalThis as { document?: unknown }).document ??= { createElement: element };
});

describe('TerminalSession before and after xterm has loaded', () => {
  it('keeps bytes written while xterm loads, parses them in order once it is there, and credits them only then', async () => {
    const { TerminalSession } = await import('./terminal-session.ts');
    const credits: number[] = [];
    const s = new TerminalSession({ input() {}, credit: (n) => credits.push(n) });
    const queries: number[] = [];
    // Set up before any byte is parsed, as the compare page's driver does.
    s.configure((term) => term.parser.registerCsiHandler({ final: 'n' }, (params) => (queries.push(Number(params[0])), true)));
    const bytes = ['first line\r\n', 'second \x1b[6n line\r\n'].map((t) => new TextEncoder().encode(t));
    for (const b of bytes) s.write(b);
    expect(s.lines()).toEqual([]);
    expect(() => s.term).toThrow('the terminal is still loading');
    expect(credits).toEqual([]);
    await s.loaded;
    await expect.poll(() => s.lines().filter(Boolean)).toEqual(['first line', 'second  line']);
    expect(queries).toEqual([6]);
    await expect.poll(() => credits.reduce((a, b) => a + b, 0)).toBe(bytes[0].length + bytes[1].length);
    s.dispose();
  });
});

describe('TerminalSession gives back the credit of bytes it drops', () => {
  it('a reset while xterm loads credits the bytes it forgets, so the guest is not held', async () => {
    const { TerminalSession } = await import('./terminal-session.ts');
    const credits: number[] = [];
    const s = new TerminalSession({ input() {}, credit: (n) => credits.push(n) });
    s.write(new Uint8Array(5000));
    s.write(new Uint8Array(3000));
    s.reset(); // a power cycle or a resume before xterm is there
    expect(credits.reduce((a, b) => a + b, 0)).toBe(8000);
    s.write(new TextEncoder().encode('after\r\n'));
    await s.loaded;
    await expect.poll(() => credits.reduce((a, b) => a + b, 0)).toBe(8007);
    await expect.poll(() => s.lines().filter(Boolean)).toEqual(['after']);
    s.dispose();
  });
});
