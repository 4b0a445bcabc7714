import { defineConfig } from 'vitest/config';

/**
 * Gateways on other machines across real network namespaces (issue 15): needs root and `ip netns`, the built CLI
 * and openssh-server. `npm run test:remote`. Without namespaces the suite says so and skips.
 */
export default defineConfig({
  test: {
    // Every gateway the tests start checks its answers against the typed contract (gateway/protocol/gateway-contract.ts).
    env: { CLAWDESK_CHECK_RESULTS: '1' },
    include: ['test/remote/netns/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 240_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});
