/**
 * create-user on the resumable runner, where the worker dies inside its credentials step and the recipient acts while
 * it is dead: what the crash test (crash-every-step.test.ts, which kills every call of an uninterrupted run) cannot
 * show. The worker is killed as Lambda's timeout does it: the invocation never answers; Lambda retries it later.
 */
import { CreateGroupCommand, CreateUserCommand, DeleteGroupCommand, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../src/jobs/types.js';
import type { Messenger } from '../../src/services/ports.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { allowPasswordChange, approvalMessageNow, click, dmsTo, iamUser, requestUser } from '../support/create-user.js';
import { linkSentTo, requestPage } from '../support/credentials.js';

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot();
  await allowPasswordChange(bot);
});
afterAll(async () => {
  await bot.stop();
});

/** Approves the request and returns its provisioning job, not yet run. */
async function approveHoldingJob(request: AccessRequest): Promise<Job> {
  const real = bot.deps.dispatcher;
  const held: Job[] = [];
  bot.deps.dispatcher = { dispatch: async (job) => void held.push(job) };
  try {
    await click(bot, request, 'U0APPROVER1');
  } finally {
    bot.deps.dispatcher = real;
  }
  const job = held.find((j) => j.type === 'provision');
  if (!job) throw new Error('the approval dispatched no provisioning job');
  return job;
}

/**
 * Runs `job` in a worker that dies right after Slack accepted the one-time link's DM to `recipient`: that
 * invocation never answers again (nothing after the post runs).
 */
async function runDyingAfterLinkDm(job: Job, recipient: string): Promise<void> {
  const real = bot.deps.messenger;
  let died: () => void = () => {};
  const dead = new Promise<void>((resolve) => {
    died = resolve;
  });
  bot.deps.messenger = new Proxy(real, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== 'post') return value;
      return async (...args: Parameters<Messenger['post']>) => {
        const posted = await (value as Messenger['post']).apply(target, args);
        if (args[0] === recipient && JSON.stringify(args[1]).includes('/credentials/')) {
          died();
          return new Promise(() => {});
        }
        return posted;
      };
    },
  });
  try {
    await Promise.race([bot.runJob(job), dead]);
  } finally {
    bot.deps.messenger = real;
  }
}

describe('a run killed after the link DM went out, before it recorded the delivery', () => {
  let request: AccessRequest;
  let revealedKey: string | undefined;

  beforeAll(async () => {
    request = await requestUser(bot, 'opened-bot', { accessType: 'both' });
    const job = await approveHoldingJob(request);
    await runDyingAfterLinkDm(job, 'U0RECIPIENT');
    // The recipient opens the link while the worker is dead.
    const page = await requestPage(bot, 'POST', linkSentTo(bot, 'U0RECIPIENT').token);
    expect(page.statusCode).toBe(200);
    revealedKey = /data-testid="access-key-id">([^<]+)</.exec(page.body ?? '')?.[1];
    // Lambda retries the timed-out invocation once its leases have run out.
    bot.clock.advance(3 * 60_000);
    await bot.runJob(job);
    await bot.drain();
  });

  it('keeps the link the recipient opened: the key it revealed is the one key IAM holds, and no new link is sent', async () => {
    const keys = await bot.deps.aws.account().iam.send(new ListAccessKeysCommand({ UserName: 'opened-bot' }));

    expect(revealedKey).toMatch(/^AKIA/);
    expect(keys.AccessKeyMetadata?.map((k) => k.AccessKeyId)).toEqual([revealedKey]);
    expect(
      dmsTo(bot, 'U0RECIPIENT').filter((d) => d.includes('/credentials/') && d.includes('opened-bot')),
    ).toHaveLength(1);
  });

  it('ends the request done, recording that link as its delivery', async () => {
    const done = (await bot.deps.store.requests.get(request.id)) as AccessRequest;
    const link = await bot.deps.store.links.getByLinkId(done.linkId ?? '');

    expect(done.status).toBe('done');
    expect(link?.status).toBe('opened');
    expect(link?.accessKeyId).toBe(revealedKey);
  });
});

describe('a run whose user a killed part created, failing at a later step', () => {
  let request: AccessRequest;

  beforeAll(async () => {
    const iam = bot.deps.aws.account().iam;
    request = await requestUser(bot, 'half-bot', { groups: ['ci-deployers', 'read-only'] });
    const job = await approveHoldingJob(request);
    // A killed part created the user (tagged with this request) before its step's checkpoint; then the group goes.
    await iam.send(
      new CreateUserCommand({
        UserName: 'half-bot',
        Path: '/iam-slack-bot/',
        Tags: [{ Key: 'request-id', Value: request.id }],
      }),
    );
    await iam.send(new DeleteGroupCommand({ GroupName: 'read-only' }));
    try {
      await bot.runJob(job);
      await bot.drain();
    } finally {
      await iam.send(new CreateGroupCommand({ GroupName: 'read-only' }));
    }
  });

  it('undoes that user with the rest: the user is this request’s, so nothing is left', async () => {
    const failed = (await bot.deps.store.requests.get(request.id)) as AccessRequest;

    expect(failed.status).toBe('failed');
    expect(failed.error).toBe('AddUserToGroup read-only failed (group read-only does not exist)');
    expect(await iamUser(bot, 'half-bot')).toBeUndefined();
    expect(failed.remaining).toEqual([]);
    expect(approvalMessageNow(bot, request).text).toContain('Everything this request had created was removed.');
  });
});
