/**
 * The `credentials.delivered` audit event of a delivery is never lost (issue 18, runner leftovers): a worker killed
 * right after the write that completes a delivery, before the event's write, used to leave a delivered link with no
 * event, since every later call finds the delivery complete and returns at once. The kill is the event's PutItem
 * never reaching DynamoDB (the AWS client's middleware stops it, as the crash harness does); the retry is the same
 * call again, as Lambda's retry makes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completedDelivery, deliverCredentials } from '../../src/services/credentials.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { createUserWithCredentials, deliveryOf } from '../support/credentials.js';

type Handler = (args: { input: Record<string, unknown> }) => Promise<unknown>;
interface MiddlewareClient {
  middlewareStack: {
    add(
      middleware: (next: Handler, context: { commandName?: string }) => Handler,
      options: { step: 'initialize'; name: string },
    ): void;
  };
}

/** While set, the next PutItem of a `credentials.delivered` event dies (the worker is killed right before it). */
let killEventWrite = false;
const killEvent = (client: unknown) =>
  (client as MiddlewareClient).middlewareStack.add(
    (next, context) => async (args) => {
      const item = JSON.stringify(args.input.Item ?? '');
      if (killEventWrite && context.commandName === 'PutItemCommand' && item.includes('credentials.delivered')) {
        killEventWrite = false;
        throw new Error('worker killed (test): the event write never reached DynamoDB');
      }
      return next(args);
    },
    { step: 'initialize', name: 'killEventWrite' },
  );

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot({ decorateClient: killEvent });
});
afterAll(async () => {
  await bot.stop();
});

const deliveredEvents = async (linkId: string) =>
  (await bot.deps.store.audit.list(`link#${linkId}`, { consistent: true })).filter(
    (e) => e.action === 'credentials.delivered',
  );

describe('a delivery whose worker was killed right after it completed', () => {
  it('has its credentials.delivered event recorded once by the retry, which sends nothing again', async () => {
    // Prepare: the first attempt completes the delivery and dies before its event
    const delivery = deliveryOf(await createUserWithCredentials(bot));
    killEventWrite = true;
    await expect(bot.as('worker', () => deliverCredentials(bot.deps, delivery))).rejects.toThrow();
    const dms = bot.slack.postsTo('U0RECIPIENT').length;
    const done = await bot.deps.store.links.deliveredLink(delivery.deliveryKey);
    expect(done, 'the delivery completed').toBeDefined();

    // Act: Lambda's retry, twice
    const retried = await bot.as('worker', () => deliverCredentials(bot.deps, delivery));
    const again = await bot.as('worker', () => deliverCredentials(bot.deps, delivery));

    // Assess: the same link, no second DM, the event recorded once with what was delivered
    expect(retried).toMatchObject({ linkId: done?.linkId, created: false });
    expect(again).toMatchObject({ linkId: done?.linkId, created: false });
    expect(bot.slack.postsTo('U0RECIPIENT')).toHaveLength(dms);
    const events = await deliveredEvents(done?.linkId ?? '');
    expect(events).toHaveLength(1);
    expect(events[0]?.detail).toMatchObject({
      deliveryKey: delivery.deliveryKey,
      recipient: 'U0RECIPIENT',
      accessKeyId: delivery.bundle.accessKey?.accessKeyId,
      recovered: true,
    });
  });

  it('has it recorded by a step that finds the delivery complete (a create-user or reissue resuming)', async () => {
    // Prepare
    const delivery = deliveryOf(await createUserWithCredentials(bot));
    killEventWrite = true;
    await expect(bot.as('worker', () => deliverCredentials(bot.deps, delivery))).rejects.toThrow();

    // Act
    const found = await bot.as('worker', () => completedDelivery(bot.deps, delivery.deliveryKey));

    // Assess
    expect(found?.linkId).toBeDefined();
    expect(await deliveredEvents(found?.linkId ?? '')).toHaveLength(1);
  });

  it('records it once when nothing was killed', async () => {
    // Prepare
    const delivery = deliveryOf(await createUserWithCredentials(bot));

    // Act
    const first = await bot.as('worker', () => deliverCredentials(bot.deps, delivery));
    await bot.as('worker', () => deliverCredentials(bot.deps, delivery));
    await bot.as('worker', () => completedDelivery(bot.deps, delivery.deliveryKey));

    // Assess
    expect((await deliveredEvents(first.linkId)).map((e) => e.detail.recovered ?? false)).toEqual([false]);
  });
});
