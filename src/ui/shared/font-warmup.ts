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

/** Characters beyond ASCII that the UI prints (each may need a fallback font). */
const TEXT = 'Ag09 –—→×…·▚✓';

const pxOf = (value: string, rootPx: number): number | undefined => {
  const m = /^([\d.]+)(px|rem|em)$/.exec(value.trim());
  if (!m) return undefined;
  return m[2] === 'px' ? Number(m[1]) : Number(m[1]) * rootPx;
};

function collect(rootPx: number) {
  const sizes = new Set<number>([rootPx]);
  const weights = new Set<string>(['400', '700']);
  const families = new Set<string>([getComputedStyle(document.documentElement).fontFamily]);
  const walk = (rules: CSSRuleList) => {
    for (const rule of Array.from(rules)) {
      if (rule instanceof CSSStyleRule) {
        const px = pxOf(rule.style.fontSize, rootPx);
        if (px) sizes.add(px);
        if (rule.style.fontWeight) weights.add(rule.style.fontWeight === 'bold' ? '700' : rule.style.fontWeight);
        if (rule.style.fontFamily && !/inherit|initial|unset/.test(rule.style.fontFamily)) families.add(rule.style.fontFamily);
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
  return { sizes, weights, families };
}

/**
 * Lay out the warm-up text in small slices (one per task, so no slice is a long task); resolves
 * when all is laid out (performance mark "stacklab-fonts-warm"). `extra` adds fonts that are set
 * from script (xterm.js: family and px sizes).
 */
export function warmFontStrikes(extra: { family: string; sizes: number[] }[] = []): Promise<void> {
  const rootPx = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
  const { sizes, weights, families } = collect(rootPx);
  const combos: string[] = [];
  for (const family of families) for (const px of sizes) for (const w of weights) combos.push(`${w} ${px}px ${family}`);
  for (const e of extra) for (const px of e.sizes) for (const w of ['400', '700']) combos.push(`${w} ${px}px ${e.family}`);

  const box = document.createElement('div');
  box.setAttribute('aria-hidden', 'true');
  // Laid out (visibility: hidden would still shape, display: none would not), off screen, inert.
  box.style.cssText = 'position:fixed;left:-10000px;top:0;width:1px;height:1px;overflow:hidden;white-space:nowrap;pointer-events:none;contain:strict';
  document.body.append(box);
  const SLICE = 12;
  return new Promise((resolve) => {
    let i = 0;
    const step = () => {
      for (const font of combos.slice(i, i + SLICE)) {
        const span = document.createElement('span');
        span.style.font = font;
        span.textContent = TEXT;
        box.append(span);
      }
      i += SLICE;
      box.getBoundingClientRect(); // shape now, inside this small task
      if (i < combos.length) setTimeout(step, 0);
      else {
        performance.mark('stacklab-fonts-warm', { detail: { fonts: combos.length } });
        resolve();
      }
    };
    step();
  });
}
