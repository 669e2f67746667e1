/**
 * Loads every font strike the page will use while the page is still quiet.
 *
 * On Linux, Chromium asks the browser process over a synchronous IPC for the render style of each
 * new font strike (family × pixel size × weight × style: WebSandboxSupportLinux::
 * GetWebFontRenderStyleForStrike), and for every fallback font. Mid-race the browser process is
 * starved by the emulator threads, and one such call blocked a layout for 665 ms (8 ms of CPU) when
 * the results table first appeared. So at start-up we lay out, once, text in every font size and
 * weight the style sheets name, in every family, with the non-ASCII characters the page prints.
 * The text stays in the page (off screen, never laid out again): font data nothing references is
 * purged from Blink's cache once enough piles up, and the look-ups would come back mid-race.
 */
import { nextTask } from './next-task.ts';

/** Characters beyond ASCII that the UI prints (each may need a fallback font). */
const TEXT = 'Ag09 –—→×…·▚✓';

const pxOf = (value: string, rootPx: number): number | undefined => {
  const m = /^([\d.]+)(px|rem|em)$/.exec(value.trim());
  if (!m) return undefined;
  return m[2] === 'px' ? Number(m[1]) : Number(m[1]) * rootPx;
};

function collect(rootPx: number) {
  const sizes = new Set<number>([rootPx]);
  const families = new Set<string>([getComputedStyle(document.documentElement).fontFamily]);
  const walk = (rules: CSSRuleList) => {
    for (const rule of Array.from(rules)) {
      if (rule instanceof CSSStyleRule) {
        const px = pxOf(rule.style.fontSize, rootPx);
        if (px) sizes.add(px);
      }
      if ('cssRules' in rule) walk((rule as CSSGroupingRule).cssRules);
    }
  };
  for (const sheet of Array.from(document.styleSheets)) {
    try {
      walk(sheet.cssRules);
    } catch {
      /* a cross-origin sheet: not ours */
    }
  }
  // A strike is regular or bold (600 and up), not each weight; other families in the sheets
  // (pages not shown yet) are left out: 488 combinations took seconds mid-race when they were in.
  return { sizes, weights: ['400', '700'], families };
}

/**
 * `<small>` (font-size: smaller) inside each size the sheets name: sizes no rule spells out. The
 * results table's `<small>` at 13.33 px was the one look-up left mid-race: 996 ms of a starved
 * browser process, at the moment the table appeared. Measured by the engine, not guessed.
 */
function smallerOf(sizes: Set<number>): number[] {
  const probe = document.createElement('div');
  probe.style.cssText = 'position:fixed;left:-10000px;top:0;visibility:hidden';
  const inner = document.createElement('small');
  probe.append(inner);
  document.body.append(probe);
  const out: number[] = [];
  for (const px of sizes) {
    probe.style.fontSize = `${px}px`;
    out.push(parseFloat(getComputedStyle(inner).fontSize));
  }
  probe.remove();
  return out.filter((px) => px > 0);
}

/**
 * Lay out the warm-up text, one font at a time, in slices of about `sliceMs` of main-thread time
 * with a task boundary between slices; resolves (and marks "stacklab-fonts-warm") when every font
 * is laid out. Callers start machines only after it resolves: slices that ran into the race each
 * stalled for seconds on a starved browser process, while before it 64 fonts take a few tens of
 * ms. Laid out in one task, they were a third of the page's first task and, on a loaded machine,
 * a 380 ms task of their own (issue 10 item 6). `extra` adds fonts set from script (xterm.js).
 */
export async function warmFontStrikes(extra: { family: string; sizes: number[] }[] = [], sliceMs = 8): Promise<void> {
  const rootPx = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
  const { sizes, weights, families } = collect(rootPx);
  for (const px of smallerOf(sizes)) sizes.add(px);
  const combos: string[] = [];
  for (const family of families) for (const px of sizes) for (const w of weights) combos.push(`${w} ${px}px ${family}`);
  for (const e of extra) for (const px of e.sizes) for (const w of ['400', '700']) combos.push(`${w} ${px}px ${e.family}`);

  const box = document.createElement('div');
  box.setAttribute('aria-hidden', 'true');
  // Laid out (visibility: hidden would still shape, display: none would not), off screen, inert;
  // contain: strict makes each new span's layout a layout of this box alone.
  box.style.cssText = 'position:fixed;left:-10000px;top:0;width:1px;height:1px;overflow:hidden;white-space:nowrap;pointer-events:none;contain:strict';
  document.body.append(box);
  let sliceStart = performance.now();
  for (const font of combos) {
    if (performance.now() - sliceStart > sliceMs) {
      await nextTask();
      sliceStart = performance.now();
    }
    const span = document.createElement('span');
    span.style.font = font;
    span.textContent = TEXT;
    box.append(span);
    box.getBoundingClientRect(); // shape now
  }
  performance.mark('stacklab-fonts-warm', { detail: { fonts: combos.length } });
}
