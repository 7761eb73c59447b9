import { CreateAccountAliasCommand, CreateRoleCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
