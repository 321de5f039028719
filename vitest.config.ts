import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// One runner for unit tests (beside the code) and cross-component tests (test/).
// Integration tests share one chdb engine per process, so files run in forked workers.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', 'data/**', 'dist/**'],
    pool: 'forks',
    // Vitest's default is one worker per core less one: a single worker on a 2-core machine, though much of
    // the suite waits on a Kafka JVM, Chromium or a child process. Every file picks free ports (brokers,
    // servers on port 0) and its own chdb folder, so two files can always overlap.
    maxWorkers: Math.max(2, availableParallelism()),
    // Deadlines only catch hangs: tests wait on conditions, and on a shared, loaded machine a condition can
    // take many times longer than on a quiet one (a Kafka JVM took over a minute to start at load ~30).
    testTimeout: 180_000,
    hookTimeout: 300_000,
  },
});
