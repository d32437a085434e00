import { defineConfig } from 'vitest/config';

// Two projects: `vitest run` (npm test) runs both; `vitest run test/unit` or `--project unit` needs no
// PostgreSQL or Redis, because only the integration project loads the catalog database.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // Runs only when an integration file is queued: a fresh database with the bundled products.
          globalSetup: ['test/support/global-setup.ts'],
          // Integration tests share one PostgreSQL database and one Redis; files run one at a time.
          fileParallelism: false,
          testTimeout: 30_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
