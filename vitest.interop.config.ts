import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Every gateway the tests start checks its answers against the typed contract (gateway/protocol/gateway-contract.ts).
    env: { CLAWDESK_CHECK_RESULTS: '1' },
    include: ['test/interop/**/*.test.ts', 'test/openclaw/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 600_000,
    fileParallelism: false,
  },
});
