// Finds text a reader cannot read whole: text drawn over other text or over a control, text cut
// by a clipping box (overflow hidden, an ellipsis), text past the viewport's sides, and text another
// element paints over. Run in the page (page.evaluate) on the live layout: what the class sees.
import type { Page } from '@playwright/test';

/** One problem, in words a failing test can print: what, where, and the boxes involved. */
export interface LayoutProblem {
  kind: 'overlap' | 'under-control' | 'clipped' | 'off-screen' | 'covered' | 'wrapped' | 'unequal';
  text: string;
  other?: string;
  box: string;
}

export interface LayoutOptions {
  /**
   * Count text scrolled out of a scroll box (overflow auto or scroll) as cut, like text a clipping
   * box hides: on a projector nobody scrolls a table sideways. Off by default: a terminal's own
   * scrollback is meant to scroll.
   */
  scrollCuts?: boolean;
}

/**
 * Visible text of every element matched by `roots`, checked as laid out now. Rectangles are the
 * text's own glyph boxes (Range client rects), so a wide block that merely contains text does not
 * count, and a timer that overflows its column into a button does.
 */
export function layoutProblems(page: Page, roots: readonly string[], options: LayoutOptions = {}): Promise<LayoutProblem[]> {
  const args = { selectors: roots, scrollCuts: options.scrollCuts ?? false };
  return page.evaluate(({ selectors, scrollCuts }) => {
    // Two boxes count as intersecting when they share more than a sliver: line boxes of adjacent
    // lines may touch by a pixel or two (font ascent + descent above the line height).
    const SLIVER = 2;
    const overlap = (a: DOMRect, b: DOMRect) => {
      const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      return w > SLIVER && h > Math.max(SLIVER, 0.25 * Math.min(a.height, b.height));
    };
    const fmt = (r: DOMRect) => `${Math.round(r.left)},${Math.round(r.top)} ${Math.round(r.width)}×${Math.round(r.height)}`;
    const visible = (el: Element) => el.checkVisibility({ opacityProperty: true, visibilityProperty: true, contentVisibilityAuto: true });
    const describe = (el: Element, text: string) => {
      const owner = el.closest('[data-machine],[data-experiment],[data-testid],section,header');
      const where = owner
        ? (owner.getAttribute('data-machine') ?? owner.getAttribute('data-experiment') ?? owner.getAttribute('data-testid') ?? owner.tagName.toLowerCase())
        : '';
      return `"${text.slice(0, 60)}" (${el.tagName.toLowerCase()}${el.className && typeof el.className === 'string' ? '.' + el.className.split(/\s+/)[0] : ''} in ${where})`;
    };

    interface Text {
      node: Text_;
      el: Element;
      label: string;
      rects: DOMRect[];
    }
    type Text_ = globalThis.Text;
    const texts: Text[] = [];
    const controls: { el: Element; label: string; rect: DOMRect }[] = [];
    const seen = new Set<Node>();
    for (const sel of selectors) {
      for (const root of document.querySelectorAll(sel)) {
        const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
        for (let n = walker.nextNode() as Text_ | null; n; n = walker.nextNode() as Text_ | null) {
          if (seen.has(n) || !n.data.trim() || !n.parentElement || !visible(n.parentElement)) continue;
          seen.add(n);
          const range = document.createRange();
          range.selectNodeContents(n);
          const rects = [...range.getClientRects()].filter((r) => r.width > 0.5 && r.height > 0.5);
          if (rects.length) texts.push({ node: n, el: n.parentElement, label: describe(n.parentElement, n.data.trim()), rects });
        }
        for (const el of root.querySelectorAll('button, input, select, textarea')) {
          if (seen.has(el) || !visible(el)) continue;
          seen.add(el);
          controls.push({
            el,
            label: describe(el, (el as HTMLElement).innerText || (el as HTMLInputElement).value || el.tagName),
            rect: el.getBoundingClientRect(),
          });
        }
      }
    }

    const problems: { kind: string; text: string; other?: string; box: string }[] = [];
    const vw = document.documentElement.clientWidth;
    for (const [i, a] of texts.entries()) {
      for (const ra of a.rects) {
        // Text on text.
        for (const b of texts.slice(i + 1)) {
          const hit = b.rects.find((rb) => overlap(ra, rb));
          if (hit) problems.push({ kind: 'overlap', text: a.label, other: b.label, box: `${fmt(ra)} ∩ ${fmt(hit)}` });
        }
        // Text under a control it does not belong to (a button painted over a timer).
        for (const c of controls) {
          if (!c.el.contains(a.node) && overlap(ra, c.rect))
            problems.push({ kind: 'under-control', text: a.label, other: c.label, box: `${fmt(ra)} ∩ ${fmt(c.rect)}` });
        }
        // Past the viewport's sides (a page that scrolls sideways on a projector).
        if (ra.left < -1 || ra.right > vw + 1) problems.push({ kind: 'off-screen', text: a.label, box: `${fmt(ra)} in a ${vw} px wide viewport` });
        // Cut by an ancestor that clips (overflow hidden/clip; text-overflow: ellipsis is one).
        for (let p = a.el as Element | null; p && p !== document.documentElement; p = p.parentElement) {
          const cs = getComputedStyle(p);
          const cuts = scrollCuts ? ['hidden', 'clip', 'auto', 'scroll'] : ['hidden', 'clip'];
          if (!cuts.includes(cs.overflowX) && !cuts.includes(cs.overflowY)) continue;
          const box = p.getBoundingClientRect();
          const x = cuts.includes(cs.overflowX) && (ra.left < box.left - 1 || ra.right > box.right + 1);
          const y = cuts.includes(cs.overflowY) && (ra.top < box.top - 1 || ra.bottom > box.bottom + 1);
          if (x || y) {
            problems.push({ kind: 'clipped', text: a.label, other: describe(p, ''), box: `${fmt(ra)} outside ${fmt(box)}` });
            break;
          }
        }
      }
    }
    for (const [i, a] of controls.entries()) {
      for (const b of controls.slice(i + 1))
        if (overlap(a.rect, b.rect)) problems.push({ kind: 'overlap', text: a.label, other: b.label, box: `${fmt(a.rect)} ∩ ${fmt(b.rect)}` });
    }
    // Painted over by anything else (an absolutely placed box, a sticky bar): hit-test the middle
    // of each text box, one screenful at a time.
    const { scrollX, scrollY } = window;
    const vh = window.innerHeight;
    const pageHeight = document.documentElement.scrollHeight;
    const covered = new Set<Text>();
    for (let y = 0; y < pageHeight; y += vh) {
      window.scrollTo(0, y);
      for (const t of texts) {
        if (covered.has(t)) continue;
        for (const r of t.node.parentElement
          ? (() => {
              const range = document.createRange();
              range.selectNodeContents(t.node);
              return [...range.getClientRects()];
            })()
          : []) {
          const cx = r.left + r.width / 2;
          const cy = r.top + r.height / 2;
          if (r.width < 1 || cy < 0 || cy >= vh || cx < 0 || cx >= vw) continue;
          const hit = document.elementFromPoint(cx, cy);
          if (hit && !(t.el.contains(hit) || hit.contains(t.el))) {
            covered.add(t);
            problems.push({ kind: 'covered', text: t.label, other: describe(hit, (hit as HTMLElement).innerText?.trim() ?? ''), box: fmt(r) });
            break;
          }
        }
      }
    }
    window.scrollTo(scrollX, scrollY);
    return problems as LayoutProblem[];
  }, args);
}

/**
 * Rows that must stay on one line (a card's header, its row of buttons): for every element matched
 * by `rows`, its visible children must share one horizontal band (the lowest top above the highest
 * bottom). A child that wrapped sits wholly below the others ("Remove" alone on a second row) and is
 * reported as 'wrapped', with the row and the boxes. Children with no box (nothing rendered) are
 * skipped; `display: contents` children are looked through.
 */
export function wrappedRows(page: Page, rows: readonly string[]): Promise<LayoutProblem[]> {
  return page.evaluate((selectors) => {
    const fmt = (r: DOMRect) => `${Math.round(r.left)},${Math.round(r.top)} ${Math.round(r.width)}×${Math.round(r.height)}`;
    const name = (el: Element) => {
      const text = ((el as HTMLElement).innerText ?? '').trim().replace(/\s+/g, ' ');
      return `"${text.slice(0, 40)}" (${el.tagName.toLowerCase()}${typeof el.className === 'string' && el.className ? '.' + el.className.split(/\s+/)[0] : ''})`;
    };
    const items = (el: Element): Element[] => [...el.children].flatMap((c) => (getComputedStyle(c).display === 'contents' ? items(c) : [c]));
    const problems: { kind: 'wrapped'; text: string; other?: string; box: string }[] = [];
    for (const sel of selectors) {
      for (const row of document.querySelectorAll(sel)) {
        if (!row.checkVisibility()) continue;
        const boxes = items(row)
          .filter((c) => c.checkVisibility({ visibilityProperty: true }))
          .map((c) => ({ c, r: c.getBoundingClientRect() }))
          .filter(({ r }) => r.width > 0.5 && r.height > 0.5);
        if (boxes.length < 2) continue;
        const band = Math.min(...boxes.map(({ r }) => r.bottom)) - Math.max(...boxes.map(({ r }) => r.top));
        if (band > 0) continue;
        const first = boxes.reduce((a, b) => (b.r.top < a.r.top ? b : a));
        for (const { c, r } of boxes) {
          if (r.top >= first.r.bottom - 1)
            problems.push({ kind: 'wrapped', text: name(c), other: `row ${sel} ${name(row)}`, box: `${fmt(r)} below ${fmt(first.r)}` });
        }
      }
    }
    return problems;
  }, rows);
}

/**
 * Boxes that must be equally wide: for each selector, every visible match is as wide as the first
 * (within 1 px), else an 'unequal' problem names it. The race board's tracks draw one shared time
 * scale as a share of their width: a narrower track draws the same time shorter.
 */
export function unequalWidths(page: Page, groups: readonly string[]): Promise<LayoutProblem[]> {
  return page.evaluate((selectors) => {
    const problems: { kind: 'unequal'; text: string; other?: string; box: string }[] = [];
    const who = (el: Element) => el.closest('[data-machine]')?.getAttribute('data-machine') ?? el.tagName.toLowerCase();
    for (const sel of selectors) {
      const boxes = [...document.querySelectorAll(sel)].filter((el) => el.checkVisibility()).map((el) => ({ el, w: el.getBoundingClientRect().width }));
      for (const b of boxes.slice(1))
        if (Math.abs(b.w - boxes[0].w) > 1)
          problems.push({
            kind: 'unequal',
            text: `${sel} of ${who(b.el)}`,
            other: who(boxes[0].el),
            box: `${b.w.toFixed(1)} px wide, not ${boxes[0].w.toFixed(1)}`,
          });
    }
    return problems;
  }, groups);
}
