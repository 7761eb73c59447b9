import { CreateAccountAliasCommand, CreateRoleCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STANDING_CACHE_MS } from '../../src/services/slack-members.js';
import type { SlackMessenger } from '../../src/slack/messenger.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { testPolicy } from '../support/policy.js';

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot({
    policy: testPolicy({
      accounts: [
        { name: 'staging', roleArn: 'arn:aws:iam::123456789012:role/iam-slack-bot-staging' },
        { name: 'legacy', roleArn: 'arn:aws:iam::123456789012:role/iam-slack-bot-missing' },
      ],
    }),
  });
  const iam = bot.deps.aws.account().iam;
  await iam.send(new CreateAccountAliasCommand({ AccountAlias: 'example-platform' }));
  await iam.send(
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
});
afterAll(async () => {
  await bot.stop();
});

describe('/iam whoami', () => {
  it('acks at once, then answers with the account, its alias, the ARN the bot acts as and each named account', async () => {
    const { result, responseId } = await bot.command('whoami');
    const answeredAtAck = bot.slack.callsOf('response_url').filter((c) => c.args.response_id === responseId).length;
    await bot.drain();

    expect(result.statusCode).toBe(200);
    expect(answeredAtAck).toBe(0);
    const [answer] = bot.slack.callsOf('response_url').filter((c) => c.args.response_id === responseId);
    const text = JSON.stringify(answer?.args);
    expect(text).toContain('123456789012');
    expect(text).toContain('example-platform');
    expect(text).toMatch(/arn:aws:(iam|sts)::123456789012:/);
    expect(text).toMatch(/white_check_mark: \*staging\*/);
    expect(text).toMatch(/:x: \*legacy\*.*iam-slack-bot-missing.*role cannot be assumed \(AccessDenied/);
  });

  it('shows the user one message, the answer, with no "Checking…" left above it', async () => {
    // Act
    const { responseId } = await bot.command('whoami');
    await bot.drain();

    // Assess: what the user sees under the command (a command's response_url adds, it never replaces the ack)
    const shown = bot.slack.shown(responseId);
    expect(shown).toHaveLength(1);
    expect(shown[0]?.text ?? '').not.toContain('Checking');
    expect(JSON.stringify(shown[0])).toContain('example-platform');
  });

  it('runs a job delivered twice only once', async () => {
    const { responseId } = await bot.command('whoami');
    await bot.drain();
    const [job] = (await bot.deps.store.jobs.model.scan().exec()).filter(
      (j) => j.type === 'whoami' && j.status === 'done',
    );

    const again = await bot.runJob({
      id: job?.id,
      type: 'whoami',
      payload: { responseUrl: bot.slack.responseUrl(responseId) },
    });

    expect(again).toBe('skipped');
    expect(bot.slack.callsOf('response_url').filter((c) => c.args.response_id === responseId)).toHaveLength(1);
  });
});

describe('/iam whoami asked by an approver', () => {
  it('lists the approvers policy.yml names who can no longer approve: left, guests, bot, external, with where they are listed', async () => {
    // Prepare: U0APPROVER1 asks; the others listed (by id, through the S0SECURITY user group, per group) are not all
    // full members any more
    bot.slack.members.add(
      { id: 'U0APPROVER2', deleted: true },
      { id: 'U0APPROVER3', guest: 'multi' },
      { id: 'U0FINANCE1', guest: 'single' },
      { id: 'U0SECBOT', isBot: true },
      { id: 'U0SECEXT', otherOrg: true },
    );
    bot.slack.usergroups.set('S0SECURITY', ['U0SECMEMBER', 'U0SECBOT', 'U0SECEXT']);
    (bot.deps.messenger as SlackMessenger).forgetUsergroups();

    // Act
    const { responseId } = await bot.command('whoami', 'U0APPROVER1');
    await bot.drain();

    // Assess
    const text = bot.slack
      .shown(responseId)
      .map((m) => JSON.stringify(m.blocks))
      .join('\n');
    expect(text).toContain('5 listed approvers cannot approve');
    expect(text).toContain('<@U0APPROVER2> has left (deactivated): listed as approver');
    expect(text).toContain('<@U0APPROVER3> is a multi-channel guest: listed as approver');
    expect(text).toContain('<@U0FINANCE1> is a single-channel guest: listed as approver of `billing-viewers`');
    expect(text).toContain('<@U0SECBOT> is a bot: listed as approver (through <!subteam^S0SECURITY>)');
    expect(text).toContain(
      '<@U0SECEXT> is a member of another organisation (shared channel): listed as approver (through <!subteam^S0SECURITY>)',
    );
    expect(text).not.toContain('<@U0APPROVER1> ');
    expect(text).not.toContain('<@U0SECMEMBER> ');
  });

  it('says every listed approver can approve when they are all full members', async () => {
    // Prepare
    bot.clock.advance(STANDING_CACHE_MS + 1); // past the previous test's answers
    bot.slack.members.add(
      { id: 'U0APPROVER2', deleted: false },
      { id: 'U0APPROVER3', guest: undefined },
      { id: 'U0FINANCE1', guest: undefined },
    );
    bot.slack.usergroups.set('S0SECURITY', ['U0SECMEMBER']);
    (bot.deps.messenger as SlackMessenger).forgetUsergroups();

    // Act
    const { responseId } = await bot.command('whoami', 'U0APPROVER1');
    await bot.drain();

    // Assess
    const text = JSON.stringify(bot.slack.shown(responseId));
    expect(text).toContain('every listed approver I checked (5) is a full member of this workspace');
    expect(text).not.toContain('cannot approve');
  });

  it('is not shown to someone who approves nothing, and asks Slack about no approver for them', async () => {
    // Prepare
    bot.clock.advance(STANDING_CACHE_MS + 1);
    const before = bot.slack.callsOf('users.info').length;

    // Act
    const { responseId } = await bot.command('whoami', 'U0REQUESTER');
    await bot.drain();

    // Assess
    const text = JSON.stringify(bot.slack.shown(responseId));
    expect(text).toContain('example-platform');
    expect(text).not.toContain('approver');
    expect(bot.slack.callsOf('users.info').slice(before)).toEqual([]);
  });
});
