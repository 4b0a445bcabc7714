import { defineConfig } from 'vitest/config';

/** The agent end-to-end suite (issue 10): real `openclaw agent --local` turns through Clawdesk. `npm run test:e2e`. */
export default defineConfig({
  test: {
    // Every gateway the tests start checks its answers against the typed contract (gateway/protocol/gateway-contract.ts).
    env: { CLAWDESK_CHECK_RESULTS: '1' },
    include: ['test/e2e/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 420_000,
    hookTimeout: 600_000,
    fileParallelism: false,
  },
});
