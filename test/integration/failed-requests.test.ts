/**
 * A failed request does not wait forever: it has a lifetime (policy `requests.failedLifetimeDays`) after which the
 * scheduled task abandons it, approvers can Abandon it at once, and a Retry long after the approval needs a fresh
 * approval. The failures here are provisioning that never started (the worker invocation was lost), which leaves
 * the request failed with something listed as remaining, as a real partial failure would.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REQUEST_ABANDON, REQUEST_APPROVE, REQUEST_DENY, REQUEST_RETRY } from '../../src/blocks/ids.js';
import { DAY, HOUR } from '../../src/clock.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import {
  approvalMessageNow,
  auditActions,
  buttonsNow,
  click,
  dmsTo,
  iamUserNames,
  repliesTo,
  requestUser,
} from '../support/create-user.js';

let bot: TestBot;
const START = '2026-11-22T09:00:00Z';
beforeAll(async () => {
  bot = await startTestBot();
  bot.clock.set(START);
});
afterAll(async () => {
  await bot.stop();
});
afterEach(() => {
  bot.clock.set(START);
});

const stored = async (r: AccessRequest) => (await bot.deps.store.requests.get(r.id)) as AccessRequest;
const nameHolder = (r: AccessRequest) => bot.deps.store.requests.nameHolder('home', r.userName);

/** A request approved by U0APPROVER1 whose provisioning never started, failed by the scheduled task. */
async function failedRequest(userName: string): Promise<AccessRequest> {
  const request = await requestUser(bot, userName);
  bot.dispatcher.setRunner(async () => {}); // the worker invocation is lost
  try {
    await click(bot, request, 'U0APPROVER1');
    await bot.drain();
  } finally {
    bot.dispatcher.setRunner((job) => bot.runJob(job));
  }
  bot.clock.advance(16 * 60_000);
  await bot.schedule();
  await bot.drain(); // the projection refresh parts it hands the worker
  const failed = await stored(request);
  expect(failed.status).toBe('failed');
  return failed;
}

async function clickAndSettle(request: AccessRequest, userId: string, actionId: string) {
  const { responseId } = await click(bot, request, userId, actionId);
  await bot.drain();
  return repliesTo(bot, responseId);
}

describe('a failed request', () => {
  it('offers Retry and Abandon, and says until when it waits', async () => {
    const request = await failedRequest('offered-bot');

    expect(buttonsNow(bot, request)).toEqual([REQUEST_RETRY, REQUEST_ABANDON]);
    expect(request.abandonAt).toBe(new Date(bot.clock.now().getTime() + 7 * DAY).toISOString());
    expect(approvalMessageNow(bot, request).text).toContain('then it is abandoned');
  });

  it('is abandoned by the scheduled task once its failed-request lifetime is over, releasing its name', async () => {
    const request = await failedRequest('forgotten-bot');
    bot.clock.advance(7 * DAY - 60_000);
    expect((await bot.schedule())['abandon-failed-requests']).toEqual({ abandoned: 0 });
    expect(await nameHolder(request)).toBe(request.id);

    bot.clock.advance(60_000);
    const results = await bot.schedule();

    // (the failed request of the test before, failed at the same moment, is abandoned too)
    expect((results['abandon-failed-requests'] as { abandoned: number }).abandoned).toBeGreaterThanOrEqual(1);
    expect((await stored(request)).status).toBe('abandoned');
    expect(await nameHolder(request)).toBeUndefined();
    expect(buttonsNow(bot, request)).toEqual([]);
    expect(approvalMessageNow(bot, request).text).toContain('*Abandoned* (not retried in time)');
    expect(dmsTo(bot, 'U0REQUESTER').some((d) => d.includes(request.id) && d.includes('was abandoned'))).toBe(true);
    expect(await auditActions(bot, request.id)).toContain('abandoned');
  });
});

describe('Abandon on a failed request', () => {
  it('is refused to the requester and to someone who is not an approver, changing nothing', async () => {
    const request = await failedRequest('kept-bot');

    const byRequester = await clickAndSettle(request, 'U0REQUESTER', REQUEST_ABANDON);
    const byBystander = await clickAndSettle(request, 'U0BYSTANDER', REQUEST_ABANDON);

    expect(byRequester).toEqual(['You asked for this request, so you cannot abandon it: another approver must.']);
    expect(byBystander[0]).toMatch(/^You are not an approver for every group of this request, so you cannot abandon/);
    expect((await stored(request)).version).toBe(request.version);
  });

  it('by an approver ends the request, lists what remains in IAM, releases the name and tells the requester', async () => {
    const request = await failedRequest('abandoned-bot');

    const replies = await clickAndSettle(request, 'U0APPROVER2', REQUEST_ABANDON);

    const after = await stored(request);
    expect(replies).toEqual([]);
    expect(after.status).toBe('abandoned');
    expect(after.decision?.by).toBe('U0APPROVER2');
    expect(await nameHolder(request)).toBeUndefined();
    const message = approvalMessageNow(bot, request).text;
    expect(message).toContain('*Abandoned* by <@U0APPROVER2>');
    expect(message).toContain('Left in IAM, to clean up by hand:* whatever it had created for IAM user abandoned-bot');
    expect(buttonsNow(bot, request)).toEqual([]);
    expect(dmsTo(bot, 'U0REQUESTER').some((d) => d.includes(request.id) && d.includes('was abandoned'))).toBe(true);
    const events = await bot.deps.store.audit.list(`request#${request.id}`);
    expect(events.find((e) => e.action === 'abandoned')).toMatchObject({
      actor: 'U0APPROVER2',
      detail: { remaining: [expect.stringContaining('abandoned-bot')] },
    });
  });

  it('twice changes nothing the second time', async () => {
    const request = await failedRequest('twice-abandoned-bot');
    await clickAndSettle(request, 'U0APPROVER2', REQUEST_ABANDON);

    const again = await clickAndSettle(request, 'U0APPROVER3', REQUEST_ABANDON);

    expect(again).toEqual(['This request is abandoned; there is nothing to abandon.']);
    expect((await auditActions(bot, request.id)).filter((a) => a === 'abandoned')).toHaveLength(1);
  });
});

describe('Retry of a failed request', () => {
  it('later than the request lifetime after its approval sends it back for a fresh approval', async () => {
    const request = await failedRequest('stale-approval-bot');
    bot.clock.advance(72 * HOUR);

    const replies = await clickAndSettle(request, 'U0APPROVER2', REQUEST_RETRY);

    const after = await stored(request);
    expect(replies).toEqual([
      'This request was approved more than 72 hours ago, so it needs a fresh approval before I retry: it is back to waiting for approval.',
    ]);
    expect(after).toMatchObject({ status: 'pending', approvals: [], attempt: 2 });
    expect(after.expiresAt).toBe(new Date(bot.clock.now().getTime() + 72 * HOUR).toISOString());
    expect(buttonsNow(bot, request)).toEqual([REQUEST_APPROVE, REQUEST_DENY]);
    expect(await iamUserNames(bot)).not.toContain('stale-approval-bot');
    expect(dmsTo(bot, 'U0REQUESTER').some((d) => d.includes(request.id) && d.includes('fresh approval'))).toBe(true);
    expect(await auditActions(bot, request.id)).toContain('returned-for-approval');
  });

  it('sent back for a fresh approval is provisioned once approved again', async () => {
    const request = await failedRequest('reapproved-bot');
    bot.clock.advance(73 * HOUR);
    await clickAndSettle(request, 'U0APPROVER2', REQUEST_RETRY);

    await clickAndSettle(request, 'U0APPROVER3', REQUEST_APPROVE);

    expect((await stored(request)).status).toBe('done');
    expect(await iamUserNames(bot)).toContain('reapproved-bot');
  });

  it('within the request lifetime after its approval provisions at once', async () => {
    const request = await failedRequest('prompt-retry-bot');
    bot.clock.advance(71 * HOUR);

    await clickAndSettle(request, 'U0APPROVER2', REQUEST_RETRY);

    expect((await stored(request)).status).toBe('done');
  });
});
