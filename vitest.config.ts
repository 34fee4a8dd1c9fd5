import { defineConfig } from 'vitest/config';

// Two projects: `unit` runs without any server; `integration` starts real PostgreSQL and redis-server through
// the shared harness (test/support). Integration files run one at a time: they start processes, kill them and
// measure catch-up, which a 2-core machine cannot do reliably while other files do the same.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['*/test/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 120_000,
          hookTimeout: 120_000,
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
    ],
  },
});
