/**
 * Real DynamoDB reads are eventually consistent unless asked otherwise; moto always reads consistently. These tests
 * run the bot on a store that answers every eventually consistent GetItem with the item as it was before its last
 * write (test/support/stale-dynamo.ts): every read that decides a transition, a claim or a reservation must ask for
 * a consistent read, or these races show.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../src/jobs/types.js';
import { provisionJob } from '../../src/services/requests.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { click, iamUser, requestUser, submitForm, validForm } from '../support/create-user.js';
import { type StaleReads, staleReads } from '../support/stale-dynamo.js';

let bot: TestBot;
let stale: StaleReads;
beforeAll(async () => {
  stale = staleReads();
  bot = await startTestBot({ decorateDynamo: (client) => stale.decorate(client) });
});
afterAll(async () => {
  await bot.stop();
});

/** The request as an eventually consistent read returns it (what a read without `consistent: true` would see). */
const eventuallyRead = async (id: string) => bot.deps.store.requests.model.get({ id });

describe('with stale eventually consistent reads', () => {
  it('an Approve followed by a worker that would first read the pending version still provisions, once', async () => {
    const request = await requestUser(bot, 'stale-approve-bot');
    const real = bot.deps.dispatcher;
    const held: Job[] = [];
    bot.deps.dispatcher = { dispatch: async (job) => void held.push(job) };
    try {
      await click(bot, request, 'U0APPROVER1');
    } finally {
      bot.deps.dispatcher = real;
    }

    // The store is stale: an eventually consistent read right after the approval still sees the pending request.
    expect((await eventuallyRead(request.id))?.status).toBe('pending');
    expect(held.map((j) => j.type)).toEqual(['provision']);
    for (const job of held) await real.dispatch(job);
    await bot.drain();
    const again = await bot.runJob(provisionJob(request));

    const stored = await bot.deps.store.requests.get(request.id);
    expect(stored?.status).toBe('done');
    expect((await iamUser(bot, request.userName))?.keys).toHaveLength(1);
    expect(again).toBe('skipped');
  });

  it('two concurrent create-user submissions for one name give one request, the other refused on its form', async () => {
    const answers = await Promise.all([
      submitForm(bot, validForm('stale-name-bot'), 'U0FIRST'),
      submitForm(bot, validForm('stale-name-bot'), 'U0SECOND'),
    ]);
    await bot.drain();

    const requests = await bot.deps.store.requests.model.scan('userName').eq('stale-name-bot').exec();
    expect(requests).toHaveLength(1);
    expect(answers.filter((a) => (a.body ?? '').includes('is already requested'))).toHaveLength(1);
  });
});
