// The page's live objects (the race, the lab and its LAN, the compare table) on `window.stacklab`, where
// the Playwright tests, `npm run bench:ui` and a curious reader at the console find them.

declare global {
  interface Window {
    /** Set by the pages through `exposeOnWindow`; untyped on purpose: its readers run in the page via Playwright. */
    stacklab?: Record<string, unknown>;
  }
}

/** Add `parts` to `window.stacklab`, keeping what other pages put there (each page adds its own objects). */
export function exposeOnWindow(parts: Record<string, unknown>): void {
  window.stacklab = { ...window.stacklab, ...parts };
}
