import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Every gateway the tests start checks its answers against the typed contract (gateway/protocol/gateway-contract.ts).
    env: { CLAWDESK_CHECK_RESULTS: '1' },
    include: ['test/**/*.test.ts'],
    exclude: [
      'test/interop/**',
      'test/e2e/**',
      'test/openclaw/**',
      'test/remote/netns/**',
      'node_modules/**',
      'dist/**',
    ],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Real sockets, real child processes: keep the 2-core machine from thrashing.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
