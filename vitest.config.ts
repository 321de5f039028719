import { defineConfig } from 'vitest/config';

// One runner for unit tests (beside the code) and cross-component tests (test/).
// Integration tests share one chdb engine per process, so files run in forked workers.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', 'data/**', 'dist/**'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
