/**
 * 1,000 active temporary memberships (issue 21's acceptance): the one-minute task that ends them reads only the
 * grants that are due, one Query of the sparse sweep index whatever the number still running, then one consistent
 * read and one write per due grant. The grants are seeded straight into the table (test/support/grants-at-size.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBot, type TestBot } from '../support/bot.js';
import { minuteTaskCalls, seedGrants } from '../support/grants-at-size.js';
import { testPolicy } from '../support/policy.js';

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot({ policy: testPolicy() });
});
afterAll(async () => {
  await bot.stop();
});

describe('the one-minute task with 1,000 active grants', () => {
  it('makes one Query and reads no grant when none is due', async () => {
    await seedGrants(bot, 1_000, 0, 'none');

    const { calls, woken } = await minuteTaskCalls(bot);

    expect(calls).toEqual({ 'dynamodb:Query': 1 });
    expect(woken).toBe(0);
  }, 300_000);

  it('reads and wakes only the 10 that are due', async () => {
    await seedGrants(bot, 10, 10, 'due');

    const { calls, woken } = await minuteTaskCalls(bot);

    expect(woken).toBe(10);
    // one Query, then per due grant a consistent read and the conditional write that wakes its run
    expect(calls).toEqual({ 'dynamodb:Query': 1, 'dynamodb:GetItem': 10, 'dynamodb:TransactWriteItems': 10 });
  }, 300_000);
});
