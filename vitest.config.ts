import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The long tests (issue 18): the offboarding of 120 IAM users in two accounts takes minutes against moto, so
 * `npm test` leaves it out and `npm run test:long` (CI too) runs it, with every kill point of the crash sweep. So is
 * the daily check of 2,000 owners (issue 19): writing their projection to moto takes minutes.
 */
const LONG_TESTS = ['test/integration/offboard-at-size.test.ts', 'test/integration/owner-check-at-size.test.ts'];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, ...(process.env.LONG_TESTS ? [] : LONG_TESTS)],
    setupFiles: ['test/support/setup.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
