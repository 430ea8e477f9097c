// ESLint flat config. The workflows/ rules keep Node built-ins, I/O and non-workflow clocks out of
// deterministic code: the Temporal bundler would reject most built-ins anyway, but failing in lint names the line.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const NODE_BUILTINS = ['fs', 'path', 'os', 'http', 'https', 'net', 'dns', 'child_process', 'crypto', 'stream', 'timers', 'worker_threads', 'cluster', 'zlib', 'process', 'events', 'tls', 'dgram', 'readline', 'vm'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.data/**', 'coverage/**', 'test-results/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['workflows/**/*.ts', 'domain/**/*.ts', 'test/replay/nondeterministic/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...NODE_BUILTINS.flatMap((m) => [
              { name: m, message: 'workflows/ and domain/ are deterministic: no Node built-ins or I/O (use an activity).' },
              { name: `node:${m}`, message: 'workflows/ and domain/ are deterministic: no Node built-ins or I/O (use an activity).' },
            ]),
            { name: '@temporalio/activity', message: 'activities run outside the workflow sandbox' },
            { name: '@temporalio/client', message: 'workflows cannot use the client' },
            { name: '@temporalio/worker', message: 'workflows cannot use the worker' },
            {
              name: '@temporalio/workflow',
              importNames: ['AsyncLocalStorage'],
              message: 'one per workflow run puts an entry per cached workflow in the worker thread’s promise hook (every promise then walks them all); carry the value explicitly, as workflows/request-id.ts does',
            },
          ],
          patterns: [
            { group: ['**/db/**', '**/api/**', '**/app/**', '**/http/**', '**/temporal/**', '**/providers/*/**', '**/sandbox/**', '**/security/**', '**/observability/**'], message: 'workflows/ may import only @temporalio/workflow and pure modules' },
            { group: ['**/activities', '**/activities/**'], message: 'import activity types only: `import type { Activities }`', allowTypeImports: true },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'no environment or process access in deterministic code' },
        { name: 'setInterval', message: 'use sleep()/condition() from @temporalio/workflow' },
        { name: 'fetch', message: 'I/O belongs in activities' },
        { name: 'require', message: 'use static imports' },
        { name: 'AsyncLocalStorage', message: 'one per workflow run slows every promise on the worker thread; carry the value explicitly (workflows/request-id.ts)' },
      ],
      'no-restricted-properties': ['error', { object: 'performance', property: 'now', message: 'use the workflow clock (Date.now() is workflow time)' }],
    },
  },
);
