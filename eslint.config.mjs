import { defineConfig } from 'eslint/config';
import globals from 'globals';
import baseConfig from './.config/eslint.config.mjs';

export default defineConfig([
  {
    ignores: [
      '**/node_modules/',
      '**/dist/',
      '**/coverage/',
      'test-results/',
      'playwright-report/',
      'playwright/.cache/',
      'playwright/.auth/',
      'browser/.out/',
      '**/.eslintcache',
      'pkg/',
      'bench/',
    ],
  },
  ...baseConfig,
  // Lint TypeScript outside src/ too (flat config only picks up .ts files some block names).
  { files: ['tests/**/*.ts', 'playwright.config.ts', '.config/**/*.ts'] },
  {
    files: ['browser/**/*.{js,mjs}', '.config/**/*.js', '*.js', '*.mjs'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
]);
