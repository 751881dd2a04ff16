import type { PluginOptions } from '@grafana/plugin-e2e';
import { defineConfig, devices } from '@playwright/test';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';

// plugin-e2e's login step: stores the admin session for the tests below.
const pluginE2eAuth = `${dirname(require.resolve('@grafana/plugin-e2e'))}/auth`;

// Playwright's own browser download is not available everywhere (no network, Debian): use an installed Chromium,
// from CHROMIUM_PATH or Debian's /usr/bin/chromium, as the browser test does. PLAYWRIGHT_BROWSER=bundled keeps
// Playwright's own.
const executablePath =
  process.env.PLAYWRIGHT_BROWSER === 'bundled'
    ? undefined
    : process.env.CHROMIUM_PATH || ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

/**
 * @grafana/plugin-e2e specs in tests/, run against a Grafana with the plugin loaded (`npm run server`).
 * See docs/frontend.md.
 */
export default defineConfig<PluginOptions>({
  testDir: './tests',
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: process.env.CI ? 2 : 0,
  reporter: process.env.CI ? 'list' : 'html',
  use: {
    baseURL: process.env.GRAFANA_URL || 'http://localhost:3000',
    trace: 'on-first-retry',
    launchOptions: executablePath
      ? { executablePath, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] }
      : undefined,
  },
  projects: [
    {
      name: 'auth',
      testDir: pluginE2eAuth,
      testMatch: [/.*\.js/],
    },
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        storageState: 'playwright/.auth/admin.json',
      },
      dependencies: ['auth'],
    },
  ],
});
