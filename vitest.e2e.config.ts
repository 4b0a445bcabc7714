import { defineConfig } from 'vitest/config';

/** The agent end-to-end suite (issue 10): real `openclaw agent --local` turns through Clawdesk. `npm run test:e2e`. */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 420_000,
    hookTimeout: 600_000,
    fileParallelism: false,
  },
});
