/**
 * The store loads on first use (src/store/lazy.ts), as on Lambda: answers that need no DynamoDB never load it, and
 * the first request that does finds it working. The test bot here is built without the preload other tests use.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBot, type TestBot } from '../support/bot.js';
import { requestFor, submitForm, validForm } from '../support/create-user.js';

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot({ preload: false });
});
afterAll(async () => {
  await bot.stop();
});

const storeLoaded = () => {
  try {
    void bot.deps.store.requests.model;
    return true;
  } catch {
    return false;
  }
};

describe('the lazily loaded store', () => {
  it('is not loaded to answer /iam help or an unknown subcommand', async () => {
    const help = await bot.command('help');
    const unknown = await bot.command('whomai');

    expect(help.result.statusCode).toBe(200);
    expect(unknown.result.statusCode).toBe(200);
    expect(storeLoaded()).toBe(false);
  });

  it('loads on the first request that needs it, once, and then works as usual', async () => {
    const results = await Promise.all([
      submitForm(bot, validForm('lazy-one')),
      submitForm(bot, validForm('lazy-two', { groups: ['ci-deployers'] })),
    ]);

    expect(results.map((r) => r.body ?? '')).toEqual(['', '']);
    expect(storeLoaded()).toBe(true);
    expect((await requestFor(bot, 'lazy-one')).status).toBe('pending');
    expect((await requestFor(bot, 'lazy-two')).status).toBe('pending');
  });

  it('reads a repository method through the store before loading as the real one after', async () => {
    const before = bot.deps.store.jobs.get;
    await bot.deps.preload();

    expect(typeof before).toBe('function');
    expect(bot.deps.store.jobs.get).toBe(bot.deps.store.jobs.get);
    expect(await bot.deps.store.jobs.get('no-such-job')).toBeUndefined();
  });
});
