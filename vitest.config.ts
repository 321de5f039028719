import { defineConfig } from 'vitest/config';

// One runner for unit tests (beside the code) and cross-component tests (test/).
// Integration tests share one chdb engine per process, so files run in forked workers.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', 'data/**', 'dist/**'],
    pool: 'forks',
    // Deadlines only catch hangs: tests wait on conditions, and on a shared, loaded machine a condition can
    // take many times longer than on a quiet one (a Kafka JVM took over a minute to start at load ~30).
    testTimeout: 180_000,
    hookTimeout: 300_000,
  },
});
