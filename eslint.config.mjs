// ESLint for the whole tree (`npm run lint`). Import boundaries and cycles are dependency-cruiser's job
// (.dependency-cruiser.cjs), formatting is Prettier's (eslint-config-prettier turns the overlapping rules off).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * Type-aware rules worth their cost here: each catches a promise dropped or misused, or a cast or throw that is
 * not what it looks like, which the compiler lets through. The rest of recommendedTypeChecked mostly flags the
 * deliberate `unknown`/`any` handling of wire input, so it is not enabled wholesale. Off on purpose:
 * no-base-to-string (nearly every hit is a ws RawData that ws delivers as a Buffer), restrict-plus-operands
 * (`out += chunk` on child-process Buffers), no-redundant-type-constituents (unions such as `string | 'missing'`
 * document the values that matter).
 */
const typeAwareRules = {
  '@typescript-eslint/no-floating-promises': 'error',
  // Properties: the renderer's `onclick: async () => ...` handlers (their error path is the renderer work of issue 12).
  '@typescript-eslint/no-misused-promises': [
    'error',
    { checksVoidReturn: { arguments: false, attributes: false, properties: false } },
  ],
  '@typescript-eslint/await-thenable': 'error',
  '@typescript-eslint/no-for-in-array': 'error',
  '@typescript-eslint/no-implied-eval': 'error',
  '@typescript-eslint/only-throw-error': 'error',
  '@typescript-eslint/no-unnecessary-type-assertion': 'error',
  // Passing on a caught value as it is stays allowed; rejecting with a literal or an object is not.
  '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
};

export default tseslint.config(
  {
    ignores: ['dist/**', 'out/**', 'node_modules/**', '.cache/**', 'test-artifacts/**', 'test/interop/captures/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Wire input and test doubles are `any` on purpose in a few places; the typed gateway contract (issue 12,
      // later) removes most of them. Unused values are errors, with `_` as the deliberate-ignore prefix.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      'no-control-regex': 'off', // the exec analyser and the frame checks match control characters on purpose
      // Lazy require() keeps the CLI's start-up cheap (gateway/cli/main.ts) and loads optional modules (keytar).
      '@typescript-eslint/no-require-imports': 'off',
      // Errors rethrown with a clearer message already carry the cause's text; adopting `cause` is a follow-up.
      'preserve-caught-error': 'off',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-var': 'error',
      // A `let` that closures read before its one assignment (a handle assigned once it exists) stays a `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['renderer/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['test/renderer/**/*.ts'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: {
        // Each file is checked with the tsconfig.json nearest to it (root, preload/, renderer/, test/, test/main/,
        // test/renderer/); the vitest configs at the root belong to none and get the default project.
        projectService: { allowDefaultProject: ['vitest*.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: typeAwareRules,
  },
  prettier,
);
