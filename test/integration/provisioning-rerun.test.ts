/**
 * A provisioning run that stopped after the console password and the access key were made (the worker crashed before
 * it could deliver them) is run again: the same user is continued, the lost password replaced and the lost key
 * deleted, all within the worker's role (the role checker evaluates every call).
 */
import { GetLoginProfileCommand, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addUserToGroup,
  createIamUser,
  mintCredentials,
  REQUEST_ID_TAG,
  type UserPlan,
} from '../../src/services/provisioning.js';
import { startTestBot, type TestBot } from '../support/bot.js';

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot();
});
afterAll(async () => {
  await bot.stop();
});

const plan: UserPlan = {
  requestId: 'req-rerun1',
  userName: 'rerun-bot',
  path: '/iam-slack-bot/',
  groups: ['ci-deployers'],
  console: true,
  accessKey: true,
  tags: [{ Key: REQUEST_ID_TAG, Value: 'req-rerun1' }],
};
const fast = { retryDelaysMs: [10, 20, 40] };

/** The IAM steps of a create-user run, in order (the runner runs each as a step). */
async function provision(iam: Parameters<typeof createIamUser>[0]) {
  const user = await createIamUser(iam, plan);
  for (const group of plan.groups) await addUserToGroup(iam, plan.userName, group, fast);
  return { user, credentials: await mintCredentials(iam, plan, fast) };
}

describe('provisioning run again after a crash', () => {
  it('replaces the password and the key the first run made, leaving one key and one login profile', async () => {
    const iam = bot.deps.aws.account().iam;
    const first = await bot.as('worker', () => provision(iam));

    const second = await bot.as('worker', () => provision(iam));

    const keys = await iam.send(new ListAccessKeysCommand({ UserName: plan.userName }));
    const profile = await iam.send(new GetLoginProfileCommand({ UserName: plan.userName }));
    expect(second.user).toBe('ours');
    expect(keys.AccessKeyMetadata?.map((k) => k.AccessKeyId)).toEqual([second.credentials.accessKey?.accessKeyId]);
    expect(second.credentials.accessKey?.accessKeyId).not.toBe(first.credentials.accessKey?.accessKeyId);
    expect(second.credentials.password).not.toBe(first.credentials.password);
    expect(profile.LoginProfile?.UserName).toBe(plan.userName);
    expect(
      bot.roles
        .checked()
        .filter((c) => c.fn === 'worker')
        .map((c) => c.action),
    ).toEqual(expect.arrayContaining(['iam:UpdateLoginProfile', 'iam:DeleteAccessKey']));
  });
});
