/**
 * `/iam create-user` when the policy names other AWS accounts: the form asks which one, and the user is created
 * there, through the account's assumed role (moto keeps each account apart).
 */
import { CreateGroupCommand, CreateRoleCommand, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE_USER_BLOCKS } from '../../src/blocks/ids.js';
import { DAY, HOUR } from '../../src/clock.js';
import { dailyTasks, runScheduledTasks } from '../../src/jobs/schedule.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import {
  approvalMessageNow,
  click,
  dmsTo,
  iamUser,
  requestFor,
  requestUser,
  submitForm,
  validForm,
} from '../support/create-user.js';
import { linkSentTo, requestPage } from '../support/credentials.js';
import { testPolicy } from '../support/policy.js';

const STAGING_ID = '111111111111';
let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot({
    policy: testPolicy({
      accounts: [{ name: 'staging', roleArn: `arn:aws:iam::${STAGING_ID}:role/iam-slack-bot-staging` }],
    }),
  });
  await bot.deps.aws.account().iam.send(
    new CreateRoleCommand({
      RoleName: 'iam-slack-bot-staging',
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'sts:AssumeRole' },
        ],
      }),
    }),
  );
  await bot.deps.aws.account('staging').iam.send(new CreateGroupCommand({ GroupName: 'ci-deployers' }));
});
afterAll(async () => {
  await bot.stop();
});

describe('/iam create-user with named accounts', () => {
  it('asks for the account in the form, offering home and every named account', async () => {
    await bot.command('create-user');

    const view = bot.slack.callsOf('views.open').at(-1)?.args.view as {
      blocks: { block_id: string; element: { options?: { value: string }[] } }[];
    };
    const account = view.blocks.find((b) => b.block_id === CREATE_USER_BLOCKS.account);
    expect(account?.element.options?.map((o) => o.value)).toEqual(['home', 'staging']);
  });

  it('requires the account to be chosen', async () => {
    const result = await submitForm(bot, validForm('no-account-bot'));

    expect(JSON.parse(result.body ?? '{}').errors).toEqual({ [CREATE_USER_BLOCKS.account]: 'Choose the AWS account.' });
  });

  it('opens the form from an inline command that names no account', async () => {
    const opens = bot.slack.callsOf('views.open').length;

    await bot.command('create-user inline-bot --groups ci-deployers --keys --reason "CI"');

    expect(bot.slack.callsOf('views.open')).toHaveLength(opens + 1);
  });

  it('creates the user in the chosen account, named with its id on the message, and delivers its key', async () => {
    const request = await requestUser(bot, 'staging-bot', { account: 'staging' });
    await click(bot, request, 'U0APPROVER1');
    await bot.drain();

    const inStaging = await iamUser(bot, 'staging-bot', 'staging');
    const { token } = linkSentTo(bot, 'U0RECIPIENT');
    const page = await requestPage(bot, 'POST', token);
    expect(request).toMatchObject({ account: 'staging', accountId: STAGING_ID });
    expect(approvalMessageNow(bot, request).text).toContain(`*staging* (\`${STAGING_ID}\`)`);
    expect(inStaging?.keys).toHaveLength(1);
    expect(await iamUser(bot, 'staging-bot', 'home')).toBeUndefined();
    expect(/data-testid="access-key-id">([^<]+)</.exec(page.body ?? '')?.[1]).toBe(inStaging?.keys[0]);
    expect((await requestFor(bot, 'staging-bot')).status).toBe('done');
  });

  it('deactivates an unopened link’s key in the account it was made in, when the link expires', async () => {
    const request = await requestUser(bot, 'expiring-staging-bot', { account: 'staging' });
    await click(bot, request, 'U0APPROVER1');
    await bot.drain();
    const before = await bot.deps.aws
      .account('staging')
      .iam.send(new ListAccessKeysCommand({ UserName: 'expiring-staging-bot' }));

    bot.clock.advance(25 * 3_600_000); // past the link's 24 hours
    await bot.schedule();
    await bot.drain(); // the projection refresh parts it hands the worker

    const after = await bot.deps.aws
      .account('staging')
      .iam.send(new ListAccessKeysCommand({ UserName: 'expiring-staging-bot' }));
    expect(before.AccessKeyMetadata?.map((k) => k.Status)).toEqual(['Active']);
    expect(after.AccessKeyMetadata?.map((k) => k.Status)).toEqual(['Inactive']);
  });

  it('scans each account’s keys as a job of its own: the daily run reminds the owner of a key made in staging', async () => {
    await bot.schedule(); // the ownership projection of every account
    await bot.drain(); // the projection refresh parts it hands the worker
    const created = (await bot.deps.store.users.get('staging', 'staging-bot', { consistent: true }))?.keys[0]
      ?.createdAt;
    expect(created).toBeDefined();
    bot.clock.set(new Date(Date.parse(created ?? '') + 85 * DAY + HOUR));

    await bot.as('schedule', () => runScheduledTasks(bot.deps, dailyTasks));
    await bot.drain();

    const reports = bot.roles
      .checked()
      .filter((c) => c.action === 'iam:GetCredentialReport' && c.fn === 'worker') // the schedule's refresh reads it too
      .map((c) => `${c.fn} ${c.account}`);
    expect(new Set(reports)).toEqual(new Set(['worker home', 'worker staging'])); // one job per account, via its role
    const dms = dmsTo(bot, 'U0RECIPIENT').filter((m) => m.includes('key-rotate-now'));
    expect(dms).toHaveLength(1);
    expect(dms[0]).toContain('staging-bot');
  });
});
