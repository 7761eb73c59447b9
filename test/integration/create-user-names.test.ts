/**
 * One request per IAM user name at a time: a second request for a name that a pending (or approved, provisioning,
 * failed-with-leftovers) request holds is refused, naming that request; the name comes back when the request ends.
 * Also the sparse sweep index the scheduled tasks read, and requests whose provisioning never started.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE_USER_BLOCKS, REQUEST_ABANDON, REQUEST_RETRY } from '../../src/blocks/ids.js';
import { denyRequest } from '../../src/services/requests.js';
import { nameKey } from '../../src/store/requests.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import {
  APPROVALS,
  buttonsNow,
  click,
  iamUserNames,
  requestFor,
  requestUser,
  shownText,
  submitForm,
  validForm,
} from '../support/create-user.js';

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot();
});
afterAll(async () => {
  await bot.stop();
});

const body = (result: { body?: string }) => JSON.parse(result.body || '{}');
const approvalPosts = () => bot.slack.postsTo(APPROVALS).length;
const requestItems = async (userName: string) =>
  (await bot.deps.store.requests.model.scan('userName').eq(userName).exec()).length;

describe('a second request for a user name already requested', () => {
  it('is refused on the form, naming the pending request and its requester, and posts nothing', async () => {
    const first = await requestUser(bot, 'dup-bot');
    const posts = approvalPosts();

    const result = await submitForm(bot, validForm('dup-bot'), 'U0OTHER');

    const ack = body(result);
    expect(ack.response_action).toBe('errors');
    expect(ack.errors[CREATE_USER_BLOCKS.userName]).toBe(
      `IAM user \`dup-bot\` in home is already requested: request \`${first.id}\` from <@U0REQUESTER> is waiting for approval.`,
    );
    expect(approvalPosts()).toBe(posts);
    expect(await requestItems('dup-bot')).toBe(1);
  });

  it('is refused whatever the case of the name (IAM user names are unique regardless of case)', async () => {
    const result = await submitForm(bot, validForm('DUP-Bot'), 'U0OTHER');

    expect(body(result).errors[CREATE_USER_BLOCKS.userName]).toMatch(/already requested: request `req-/);
  });

  it('is refused in the inline form with an ephemeral reply', async () => {
    const posts = approvalPosts();

    const { result } = await bot.command('create-user dup-bot --groups ci-deployers --keys --reason "CI"');

    expect(body(result).response_type).toBe('ephemeral');
    expect(body(result).text).toMatch(/IAM user `dup-bot` in home is already requested/);
    expect(approvalPosts()).toBe(posts);
  });

  it('is accepted once the first request was denied', async () => {
    const first = await requestFor(bot, 'dup-bot');
    await bot.as('slack', () => denyRequest(bot.deps, first.id, 'U0APPROVER1', 'wrong team'));
    bot.clock.advance(1000); // so that requestFor tells the two requests apart by creation time

    const result = await submitForm(bot, validForm('dup-bot'), 'U0OTHER');

    expect(result.body ?? '').toBe('');
    const second = await requestFor(bot, 'dup-bot');
    expect(second.id).not.toBe(first.id);
    expect(second.requester).toBe('U0OTHER');
    expect(await bot.deps.store.requests.nameHolder('home', 'dup-bot')).toBe(second.id);
  });

  it('loses a race: of five concurrent submissions for one new name, one request is posted', async () => {
    await bot.drain(); // what earlier tests started is posted before counting
    const posts = approvalPosts();

    const results = await Promise.all(
      ['U0A1', 'U0A2', 'U0A3', 'U0A4', 'U0A5'].map((user) => submitForm(bot, validForm('race-bot'), user)),
    );

    // The form checks pass for all five at once; the reservation (before the answer) lets one through. The others'
    // forms stay open with the refusal on the user name field.
    await bot.drain();
    expect(results.every((r) => r.statusCode === 200)).toBe(true);
    expect(await requestItems('race-bot')).toBe(1);
    expect(approvalPosts()).toBe(posts + 1);
    const refusals = results.filter((r) => (r.body ?? '').includes('IAM user `race-bot` in home is already requested'));
    expect(refusals).toHaveLength(4);
  });
});

describe('a request whose approval message cannot be posted', () => {
  it('ends at once (expired, with why), so the name can be asked for again', async () => {
    bot.slack.answers.set('chat.postMessage', () => ({ ok: false, error: 'not_in_channel' }));
    try {
      await bot.command('create-user unseen-bot --groups ci-deployers --keys --reason "CI"');
      await bot.drain(); // the worker posts the request
    } finally {
      bot.slack.answers.delete('chat.postMessage');
    }
    const unseen = await requestFor(bot, 'unseen-bot');

    expect(unseen.status).toBe('expired');
    expect(unseen.decision?.reason).toBe('not posted (not_in_channel)');
    expect(await bot.deps.store.requests.nameHolder('home', 'unseen-bot')).toBeUndefined();
    const { responseId } = await bot.command('create-user unseen-bot --groups ci-deployers --keys --reason "CI"');
    await bot.drain();
    expect(shownText(bot, responseId)).toMatch(/is waiting for approval/);
  });
});

describe('the sweep index of the requests table', () => {
  const indexed = async (id: string) => {
    const item = await bot.deps.store.requests.model.get({ id });
    return { sweepDue: item?.sweepDue, sweepAt: item?.sweepAt };
  };

  it('carries a pending request until its expiry, and drops it once the request is done', async () => {
    const request = await requestUser(bot, 'indexed-bot');

    expect(await indexed(request.id)).toEqual({ sweepDue: 'due', sweepAt: Date.parse(request.expiresAt) });

    await click(bot, request, 'U0APPROVER1');
    await bot.drain();

    expect((await requestFor(bot, 'indexed-bot')).status).toBe('done');
    expect(await indexed(request.id)).toEqual({ sweepDue: undefined, sweepAt: undefined });
    expect(await bot.deps.store.requests.dueForSweep(new Date('2099-01-01'))).not.toContainEqual(
      expect.objectContaining({ id: request.id }),
    );
  });

  it('holds no name reservation for a request that is done', async () => {
    const request = await requestFor(bot, 'indexed-bot');

    expect(await bot.deps.store.requests.model.get({ id: nameKey('home', 'indexed-bot') })).toBeUndefined();
    expect(request.status).toBe('done');
  });
});

describe('an approved request whose provisioning never started (the worker was not reached)', () => {
  it('is failed by the scheduled task after the stall time, with Retry, and Retry provisions it', async () => {
    const request = await requestUser(bot, 'lost-job-bot');
    bot.dispatcher.setRunner(async () => {}); // the invocation is lost
    await click(bot, request, 'U0APPROVER1');
    await bot.drain();
    bot.dispatcher.setRunner((job) => bot.runJob(job));
    expect((await requestFor(bot, 'lost-job-bot')).status).toBe('approved');

    bot.clock.advance(10 * 60_000);
    expect((await bot.schedule())['fail-stalled-provisioning']).toEqual({ stalled: 0 });
    bot.clock.advance(6 * 60_000);
    expect((await bot.schedule())['fail-stalled-provisioning']).toEqual({ stalled: 1 });

    const failed = await requestFor(bot, 'lost-job-bot');
    expect(failed.status).toBe('failed');
    expect(failed.error).toBe('provisioning never started (the worker was not reached)');
    expect(buttonsNow(bot, request)).toEqual([REQUEST_RETRY, REQUEST_ABANDON]);

    await click(bot, failed, 'U0APPROVER2', REQUEST_RETRY);
    await bot.drain();
    expect((await requestFor(bot, 'lost-job-bot')).status).toBe('done');
    expect(await iamUserNames(bot)).toContain('lost-job-bot');
  });
});
