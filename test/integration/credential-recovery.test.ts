/**
 * What one-time credentials leave behind when something fails half-way: a "This wasn't me" report whose alert or
 * key deactivation failed, and the secret of a delivery that died before it stored its link.
 */
import { GetLoginProfileCommand, ListAccessKeysCommand, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import { DeleteSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { HOUR } from '../../src/clock.js';
import type { Job } from '../../src/jobs/types.js';
import { ORPHAN_MIN_AGE_MS } from '../../src/services/credential-expiry.js';
import { secretNameFor } from '../../src/services/credential-secrets.js';
import { deliverCredentials } from '../../src/services/credentials.js';
import type { LinkRecord } from '../../src/store/links.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import {
  createUserWithCredentials,
  deliveredLink,
  deliveryOf,
  notMeClick,
  requestPage,
} from '../support/credentials.js';

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot();
});
afterAll(async () => {
  await bot.stop();
});

const PREFIX = 'iam-slack-bot/';
const secretValue = async (name: string) =>
  (await bot.deps.aws.secrets()).send(new GetSecretValueCommand({ SecretId: name }));
const alertsAbout = (link: LinkRecord) =>
  bot.slack
    .callsOf('chat.postMessage')
    .filter((c) => c.args.channel === 'C0APPROVALS' && JSON.stringify(c.args).includes(link.linkId));
const answersTo = (responseId: string) =>
  bot.slack.callsOf('response_url').filter((c) => c.args.response_id === responseId);

/** A delivered link that its recipient has revealed. */
async function revealedLink(options: { console?: boolean } = {}) {
  const delivery = await deliveredLink(bot, options);
  await requestPage(bot, 'POST', delivery.token);
  return delivery;
}

/** Presses "This wasn't me" through the Slack handler and runs the job; returns the job as the worker got it. */
async function pressNotMe(link: LinkRecord, responseId: string): Promise<Job> {
  const dispatch = vi.spyOn(bot.dispatcher, 'dispatch');
  await bot.interact(notMeClick(link.linkId, link.recipient, bot.slack.responseUrl(responseId)));
  await bot.drain();
  const job = dispatch.mock.calls[0]?.[0];
  dispatch.mockRestore();
  if (!job) throw new Error('no job was dispatched');
  return job;
}

/** Makes Slack refuse the next chat.postMessage, as it does for a channel the bot was removed from. */
function failNextPost() {
  bot.slack.answers.set('chat.postMessage', () => {
    bot.slack.answers.delete('chat.postMessage');
    return { ok: false, error: 'channel_not_found' };
  });
}

/** Counts UpdateAccessKey calls to the home account's IAM (passing them through). */
function countKeyDeactivations() {
  const send = vi.spyOn(bot.deps.aws.account().iam, 'send');
  return {
    count: () => send.mock.calls.filter(([command]) => command instanceof UpdateAccessKeyCommand).length,
    restore: () => send.mockRestore(),
  };
}

describe('"This wasn\'t me" that fails half-way', () => {
  it('a retry of the job after the alert failed posts the alert once and deactivates the key once', async () => {
    const { link } = await revealedLink();
    const deactivations = countKeyDeactivations();
    failNextPost();

    const job = await pressNotMe(link, 'alert-fails');
    const afterFailure = {
      job: (await bot.deps.store.jobs.get(job.id))?.status,
      stored: await bot.deps.store.links.get(link.id),
      alerts: alertsAbout(link).length,
    };
    bot.clock.advance(60_000); // Lambda retries a failed asynchronous invocation about a minute later
    const retry = await bot.runJob(job);
    const deactivated = deactivations.count();
    deactivations.restore();

    expect(afterFailure.job).toBe('failed');
    expect(afterFailure.stored?.keyDeactivatedAt).toBeDefined();
    expect(afterFailure.stored?.revokeAlertedAt).toBeUndefined();
    expect(afterFailure.alerts).toBe(1); // the refused one
    expect(retry).toBe('done');
    expect(alertsAbout(link)).toHaveLength(2);
    expect(deactivated).toBe(1);
    expect((await bot.deps.store.links.get(link.id))?.revokeAlertedAt).toBeDefined();
    expect(answersTo('alert-fails')).toHaveLength(0);
  });

  it('a second press after the alert failed posts the alert instead of answering "already reported"', async () => {
    const { link } = await revealedLink();
    failNextPost();
    await pressNotMe(link, 'first-press');
    bot.clock.advance(30_000);

    await pressNotMe(link, 'second-press');

    expect(alertsAbout(link)).toHaveLength(2);
    expect(answersTo('second-press')).toHaveLength(0);
    const events = await bot.deps.store.audit.list(`link#${link.linkId}`);
    expect(events.filter((e) => e.action === 'credentials.revoked')).toHaveLength(1);
  });

  it('the scheduled sweep finishes a report that no retry finished, once its lease has run out', async () => {
    const { link } = await revealedLink();
    failNextPost();
    await pressNotMe(link, 'retries-ran-out');
    bot.clock.advance(3 * 60_000);

    const results = await bot.schedule();

    expect(results['expire-credential-links']).toMatchObject({ reportsFinished: 1, failed: 0 });
    expect(alertsAbout(link)).toHaveLength(2);
    const stored = await bot.deps.store.links.get(link.id);
    expect(stored?.revokeAlertedAt).toBeDefined();
    expect(stored?.sweepAt).toBeUndefined();
  });

  it('a report whose run died is "under way" while that run\'s lease lasts, and a press after it finishes the report', async () => {
    const { link } = await revealedLink();
    const diedAt = bot.clock.now().getTime();
    await bot.deps.store.links.transition(link.id, ['opened'], {
      status: 'revoked',
      revokedAt: diedAt,
      revokedBy: link.recipient,
      reportOwner: 'a-run-that-died',
      reportLeaseUntil: diedAt + 2 * 60_000,
    });

    await pressNotMe(link, 'during-lease');
    const alertsDuringLease = alertsAbout(link).length;
    bot.clock.advance(2 * 60_000 + 1);
    await pressNotMe(link, 'after-lease');

    expect(String(answersTo('during-lease')[0]?.args.text)).toContain('under way');
    expect(alertsDuringLease).toBe(0);
    expect(alertsAbout(link)).toHaveLength(1);
    expect(answersTo('after-lease')).toHaveLength(0);
  });

  it('a DM written while the alert had failed says so, and is corrected once the alert is out', async () => {
    const { link } = await revealedLink();
    failNextPost();

    const job = await pressNotMe(link, 'dm-partial');
    const partial = bot.slack.callsOf('chat.update').filter((c) => c.args.ts === link.dmTs);
    await bot.runJob(job);
    const updates = bot.slack.callsOf('chat.update').filter((c) => c.args.ts === link.dmTs);

    expect(JSON.stringify(partial.at(-1)?.args.blocks)).toContain('The approvers could not be alerted yet');
    expect(updates.length).toBe(partial.length + 1);
    expect(JSON.stringify(updates.at(-1)?.args.blocks)).toContain('The approvers were alerted');
  });

  it('a key that could not be deactivated is retried, and the alert is updated in place, not posted again', async () => {
    const { bundle, link } = await revealedLink();
    const iam = bot.deps.aws.account().iam;
    const send = vi.spyOn(iam, 'send').mockImplementationOnce(async () => {
      throw Object.assign(new Error('IAM is unavailable'), { name: 'ServiceFailure' });
    });

    const job = await pressNotMe(link, 'key-fails');
    send.mockRestore();
    const [alert] = alertsAbout(link);
    await bot.runJob(job);

    expect(JSON.stringify(alert?.args.blocks)).toContain('could NOT be deactivated');
    expect(alertsAbout(link)).toHaveLength(1);
    const alertUpdate = bot.slack
      .callsOf('chat.update')
      .find((c) => c.args.channel === 'C0APPROVALS' && JSON.stringify(c.args).includes(link.linkId));
    expect(JSON.stringify(alertUpdate?.args.blocks)).toContain(
      `Access key \`${bundle.accessKey?.accessKeyId}\` was deactivated`,
    );
    const events = await bot.deps.store.audit.list(`link#${link.linkId}`);
    expect(events.map((e) => e.action)).toEqual(
      expect.arrayContaining(['credentials.revoked', 'credentials.key-deactivated']),
    );
  });

  it('a press after the report is finished is answered from what the stored report says is done', async () => {
    const { bundle, link } = await revealedLink({ console: true });
    await pressNotMe(link, 'finished-1');

    await pressNotMe(link, 'finished-2');

    const [answer] = answersTo('finished-2');
    expect(String(answer?.args.text)).toBe(
      `You already reported these credentials: access key \`${bundle.accessKey?.accessKeyId}\` is inactive, console sign-in is removed and the approvers were alerted.`,
    );
  });
});

describe('credentials nobody received', () => {
  it('the sweep deactivates the key and removes the console password of a link whose reveal failed and showed nothing', async () => {
    const { bundle, link, token } = await deliveredLink(bot, { console: true });
    await (await bot.deps.aws.secrets()).send(
      new DeleteSecretCommand({ SecretId: link.secretName, ForceDeleteWithoutRecovery: true }),
    );
    await requestPage(bot, 'POST', token);
    bot.clock.advance(24 * HOUR + 1);

    await bot.schedule();
    await bot.drain(); // the projection refresh parts it hands the worker

    const iam = bot.deps.aws.account().iam;
    const keys = await iam.send(new ListAccessKeysCommand({ UserName: bundle.userName }));
    expect(keys.AccessKeyMetadata?.map((k) => k.Status)).toEqual(['Inactive']);
    await expect(iam.send(new GetLoginProfileCommand({ UserName: bundle.userName }))).rejects.toMatchObject({
      name: 'NoSuchEntityException',
    });
    const stored = await bot.deps.store.links.get(link.id);
    expect(stored?.status).toBe('failed');
    expect(stored?.sweepAt).toBeUndefined();
  });
});

describe('secrets of deliveries that died', () => {
  /** Starts a delivery whose worker dies after creating the secret, while storing the link. */
  async function crashedDelivery() {
    const bundle = await createUserWithCredentials(bot);
    const request = deliveryOf(bundle);
    const store = vi.spyOn(bot.deps.store.links, 'create').mockImplementationOnce(() => new Promise(() => {}));
    void bot.as('worker', () => deliverCredentials(bot.deps, request));
    await vi.waitFor(() => expect(store).toHaveBeenCalled());
    store.mockRestore();
    return { request, secretName: secretNameFor(PREFIX, request.deliveryKey, 1) };
  }

  it('the scheduled sweep deletes the secret of a delivery that died before storing its link', async () => {
    const { secretName } = await crashedDelivery();
    const createdBeforeTheSweep = (await secretValue(secretName)).SecretString;
    bot.clock.advance(ORPHAN_MIN_AGE_MS + 60_000);

    const results = await bot.schedule();

    expect(createdBeforeTheSweep).toBeDefined();
    expect(results['delete-orphaned-secrets']).toMatchObject({ failed: 0 });
    expect(results['delete-orphaned-secrets']).toHaveProperty('deleted', expect.any(Number));
    await expect(secretValue(secretName)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('the sweep leaves alone a secret younger than the safety margin, which a delivery may be linking right now', async () => {
    const { secretName } = await crashedDelivery();
    bot.clock.advance(ORPHAN_MIN_AGE_MS - 60_000);

    await bot.schedule();
    await bot.drain(); // the projection refresh parts it hands the worker

    expect((await secretValue(secretName)).SecretString).toBeDefined();
  });

  it('the sweep keeps the secret of a live link', async () => {
    const { link } = await deliveredLink(bot);
    bot.clock.advance(2 * HOUR);

    await bot.schedule();
    await bot.drain(); // the projection refresh parts it hands the worker

    expect((await secretValue(link.secretName)).SecretString).toBeDefined();
    expect((await bot.deps.store.links.get(link.id))?.status).toBe('pending');
  });

  it("a rerun of a delivery that died deletes the dead attempt's secret and delivers under the next attempt's name", async () => {
    const { request, secretName } = await crashedDelivery();
    bot.clock.advance(3 * 60_000); // the dead attempt's claim has run out

    const rerun = await bot.as('worker', () => deliverCredentials(bot.deps, request));

    const link = await bot.deps.store.links.getByLinkId(rerun.linkId);
    expect(rerun.created).toBe(true);
    expect(link?.secretName).toBe(secretNameFor(PREFIX, request.deliveryKey, 2));
    await expect(secretValue(secretName)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    expect((await secretValue(link?.secretName ?? '')).SecretString).toBeDefined();
  });
});
