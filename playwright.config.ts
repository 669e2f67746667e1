// Browser tests against the built app (vite build + vite preview), in Debian's Chromium:
// no browser download. Screenshots of every test land in test-results/.
import { defineConfig } from '@playwright/test';

// Several engineers may run the suite at once in one checkout: each can pick its own port and
// build folder (STACKLAB_E2E_PORT, STACKLAB_E2E_OUT) so no run tests another's build.
const PORT = Number(process.env.STACKLAB_E2E_PORT ?? 5173);
const OUT = process.env.STACKLAB_E2E_OUT ?? 'dist';

export default defineConfig({
  testDir: 'tests/e2e',
  outputDir: process.env.STACKLAB_E2E_OUT ? `${OUT}-results` : 'test-results',
  timeout: 120_000,
  expect: { timeout: 60_000 },
  // Machines are CPU-heavy: one test at a time on a 2-core box.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}/`,
    browserName: 'chromium',
    viewport: { width: 1600, height: 1000 },
    screenshot: 'on',
    // The service worker copies ~17 MB in the background; only the offline tests want it.
    serviceWorkers: 'block',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    },
  },
  webServer: {
    command: `npx vite build --outDir ${OUT} --emptyOutDir && npx vite preview --outDir ${OUT} --host 127.0.0.1 --port ${PORT} --strictPort`,
    url: `http://127.0.0.1:${PORT}/`,
    reuseExistingServer: !process.env.CI,
    timeout: 120_000,
    stdout: 'ignore',
  },
});
