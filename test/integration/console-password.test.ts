/**
 * Console passwords that can be changed: a console password must be changed at first sign-in, which IAM allows
 * only when the account's password policy lets users change their password (or a group grants
 * `iam:ChangePassword`). `whoami` reports it per account; the create-user form and the inline command warn before
 * such a request is sent, and let the requester send it anyway.
 */
import {
  CreateGroupCommand,
  CreateRoleCommand,
  DeleteAccountPasswordPolicyCommand,
  UpdateAccountPasswordPolicyCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE_USER_BLOCKS, CREATE_USER_MODAL, CREATE_USER_WARNING } from '../../src/blocks/ids.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import {
  APPROVALS,
  allowPasswordChange,
  formValues,
  shownText,
  submitForm,
  validForm,
} from '../support/create-user.js';
import { testPolicy } from '../support/policy.js';

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot({
    policy: testPolicy({
      accounts: [{ name: 'staging', roleArn: 'arn:aws:iam::222222222222:role/iam-slack-bot-staging' }],
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
  // home keeps moto's default: no password policy. staging lets users change their password.
  await allowPasswordChange(bot, 'staging');
});
afterAll(async () => {
  await bot.stop();
});

const body = (result: { body?: string }) => JSON.parse(result.body || '{}');
const approvalPosts = () => bot.slack.postsTo(APPROVALS);
const storedRequestsFor = async (userName: string) =>
  (await bot.deps.store.requests.model.scan('userName').eq(userName).exec()).length;

interface View {
  submit: { text: string };
  private_metadata: string;
  blocks: { block_id?: string; text?: { text: string }; element?: Record<string, unknown> }[];
}

describe('/iam whoami', () => {
  it('says per account whether new console users can change their password', async () => {
    const { responseId } = await bot.command('whoami');
    await bot.drain();

    const [answer] = bot.slack.callsOf('response_url').filter((c) => c.args.response_id === responseId);
    const text = JSON.stringify(answer?.args.blocks);
    expect(text).toMatch(/\*home\*[^\n]*\\n +:warning: Console passwords: the account has no password policy/);
    expect(text).toContain('unless one of their groups grants `iam:ChangePassword`');
    expect(text).toMatch(/\*staging\*[^\n]*\\n +Console passwords: new users can change theirs at first sign-in/);
  });
});

describe('the create-user form, for a console password', () => {
  it('shows the form again with a warning, sending nothing, where the user could not change the password', async () => {
    const posts = approvalPosts().length;

    const result = await submitForm(bot, validForm('console-home', { accessType: 'console', account: 'home' }));

    const { response_action, view } = body(result) as { response_action: string; view: View };
    expect(response_action).toBe('update');
    const warning = view.blocks.find((b) => b.block_id === CREATE_USER_WARNING)?.text?.text;
    expect(warning).toContain('account *home* has no password policy');
    expect(warning).toContain('press *Request anyway*');
    expect(view.submit.text).toBe('Request anyway');
    const access = view.blocks.find((b) => b.block_id === CREATE_USER_BLOCKS.accessType)?.element;
    expect(access?.initial_option).toMatchObject({ value: 'console' });
    expect(await storedRequestsFor('console-home')).toBe(0);
    expect(approvalPosts()).toHaveLength(posts);
  });

  it('sends the request when the warned form is submitted again', async () => {
    const input = validForm('console-anyway', { accessType: 'both', account: 'home' });
    const warned = body(await submitForm(bot, input)).view as View;

    const result = await bot.submitView({
      userId: 'U0REQUESTER',
      callbackId: CREATE_USER_MODAL,
      values: formValues(input),
      privateMetadata: warned.private_metadata,
    });

    expect(result.body ?? '').toBe('');
    expect(await storedRequestsFor('console-anyway')).toBe(1);
  });

  it('warns again when the requester picks another account after the warning', async () => {
    const input = validForm('console-moved', { accessType: 'console', account: 'home' });
    const warned = body(await submitForm(bot, input)).view as View;
    await bot.deps.aws
      .account('staging')
      .iam.send(new UpdateAccountPasswordPolicyCommand({ MinimumPasswordLength: 14 }));
    try {
      const result = await bot.submitView({
        userId: 'U0REQUESTER',
        callbackId: CREATE_USER_MODAL,
        values: formValues({ ...input, account: 'staging' }),
        privateMetadata: warned.private_metadata,
      });

      const view = body(result).view as View;
      expect(view.blocks.find((b) => b.block_id === CREATE_USER_WARNING)?.text?.text).toContain(
        'the password policy of account *staging* does not let IAM users change their own password',
      );
      expect(await storedRequestsFor('console-moved')).toBe(0);
    } finally {
      await allowPasswordChange(bot, 'staging');
    }
  });

  it('does not warn for an access key only, nor where users may change their password', async () => {
    const keys = await submitForm(bot, validForm('keys-home', { accessType: 'keys', account: 'home' }));
    const staging = await submitForm(bot, validForm('console-staging', { accessType: 'console', account: 'staging' }));

    expect(keys.body ?? '').toBe('');
    expect(staging.body ?? '').toBe('');
    expect(await storedRequestsFor('keys-home')).toBe(1);
    expect(await storedRequestsFor('console-staging')).toBe(1);
  });
});

describe('the inline command, for a console password', () => {
  const command = 'create-user inline-console --groups ci-deployers --console --account home --reason "Support desk"';

  it('does not send it where the user could not change the password, and says how to send it anyway', async () => {
    const { result } = await bot.command(command);

    expect(body(result).response_type).toBe('ephemeral');
    expect(body(result).text).toContain('I did not send this request yet');
    expect(body(result).text).toContain('account *home* has no password policy');
    expect(body(result).text).toContain('add `--anyway` to send it all the same');
    expect(await storedRequestsFor('inline-console')).toBe(0);
  });

  it('sends it with --anyway', async () => {
    const { responseId } = await bot.command(`${command} --anyway`);
    await bot.drain();

    expect(shownText(bot, responseId)).toContain('is waiting for approval');
    expect(await storedRequestsFor('inline-console')).toBe(1);
  });

  it('sends it without a word once the account lets users change their password', async () => {
    await allowPasswordChange(bot);
    try {
      const { responseId } = await bot.command(command.replace('inline-console', 'inline-console-2'));
      await bot.drain();

      expect(shownText(bot, responseId)).toContain('is waiting for approval');
    } finally {
      await bot.deps.aws.account().iam.send(new DeleteAccountPasswordPolicyCommand({}));
    }
  });
});
