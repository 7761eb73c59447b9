/**
 * create-user is one kind of the request model: its approval message shows its plan, and the worker's IAM writes
 * are exactly that plan, in order.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestBot, type TestBot } from '../support/bot.js';
import { renderedPlan, workerIamWrites } from '../support/changes.js';
import { allowPasswordChange, click, requestUser } from '../support/create-user.js';

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot();
  await allowPasswordChange(bot);
});
afterAll(async () => {
  await bot.stop();
});

it('runs exactly the IAM calls its approval message lists', async () => {
  const request = await requestUser(bot, 'planned-bot', { accessType: 'both', groups: ['ci-deployers', 'read-only'] });
  const plan = renderedPlan(bot, request);
  const from = bot.roles.checked().length;

  await click(bot, request, 'U0APPROVER1');
  await bot.drain();

  expect(plan).toEqual([
    'CreateUser planned-bot',
    'AddUserToGroup ci-deployers',
    'AddUserToGroup read-only',
    'CreateLoginProfile planned-bot',
    'CreateAccessKey planned-bot',
  ]);
  // IAM authorizes CreateUser with tags as CreateUser and TagUser; the checker records both for the one call.
  const writes = workerIamWrites(bot, from).filter(
    (w, i, all) => !(w === 'TagUser planned-bot' && all[i + 1] === 'CreateUser planned-bot'),
  );
  expect(writes).toEqual(plan);
});
