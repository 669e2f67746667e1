// ESLint flat config: the recommended rule sets of ESLint, typescript-eslint and eslint-plugin-svelte,
// with the few overrides below (each says why). Type errors are svelte-check's job (`npm run typecheck`),
// so the rules here are the syntactic ones: fast, and no second TypeScript program to keep in step.
import js from '@eslint/js';
import ts from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';

export default ts.config(
  {
    // Build output, caches and vendored or generated files: not our source.
    ignores: ['dist/', 'dist-*/', 'node_modules/', '.cache/', 'images/dist/', 'test-results/', 'playwright-report/', 'images/agent/fuzz/'],
  },
  js.configs.recommended,
  ...ts.configs.recommended,
  ...svelte.configs.recommended,
  {
    // The same code runs in the page, in workers and in Node (tests, benchmarks, `npm run race`).
    languageOptions: { globals: { ...globals.browser, ...globals.worker, ...globals.node } },
  },
  {
    // Svelte components and rune modules (*.svelte.ts) hold TypeScript: parse their scripts with it.
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: ts.parser, extraFileExtensions: ['.svelte'] } },
  },
  {
    rules: {
      // `_`-prefixed names are deliberately unused (a callback's position, a destructured part left out).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // We parse terminal output: escape (\x1b) and bell (\x07) in a pattern are the point, not a typo.
      'no-control-regex': 'off',
      // Flags every `new Date/Map/URL` in a .svelte.ts file, even a local that is never state (a timestamp
      // for a file name, a worker's URL); our reactive state is declared with $state where it is meant.
      'svelte/prefer-svelte-reactivity': 'off',
    },
  },
  {
    // A variable that a callback reads before its one assignment (a NIC cable the switch port's callback
    // delivers to) must stay `let`: as a `const` it would still be in its temporal dead zone. (Svelte files
    // use svelte/prefer-const, which knows runes.)
    files: ['**/*.ts', '**/*.js'],
    ignores: ['**/*.svelte.ts'],
    rules: { 'prefer-const': ['error', { ignoreReadBeforeAssign: true }] },
  },
  {
    // Tests match command output verbatim, column padding included ("00000000  41 42").
    files: ['tests/**', '**/*.test.ts'],
    rules: { 'no-regex-spaces': 'off' },
  },
  {
    // Playwright callbacks run in the page and read its live objects through window.stacklab, which is
    // untyped on purpose (src/ui/shared/test-hook.ts): a test may read any field of a session or race.
    files: ['tests/e2e/**', 'bench/ui-race.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
