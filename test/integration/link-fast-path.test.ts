/**
 * Fast path first (issue 20): between the Approve click and the one-time link's DM only what the link needs runs.
 * Counts every network call from the click to the recipient's DM (AWS SDK calls, DynamoDB's included, and Slack Web
 * API calls), through the real Slack handler and the worker run in-process. Before the DM: the click's read and
 * write; the worker's job claim, its read of the request and the run's start (the plan and the lease, one
 * transaction); CreateUser (no GetUser first) and AddUserToGroup, whose checkpoints, like the policy gate's, are
 * written with the credentials step's, after the DM (RunKind.deferCheckpoint); one read of the delivery key (not
 * three); the key minted (ListAccessKeys replaces what a dead attempt left, then CreateAccessKey); the delivery
 * claimed, the secret stored, the link and its alias written; then the DM. No Slack call but
 * the DM itself: the approval message, the requester's notice and the App Homes follow it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_TEAM_ID } from '../../src/local/fake-slack.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { auditActions, click, requestUser } from '../support/create-user.js';

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot({ env: { SLACK_BOT_ID: 'B0BOT', SLACK_BOT_USER_ID: 'U0BOT', SLACK_TEAM_ID: FAKE_TEAM_ID } });
  // A warm worker: its first delivery also makes the links table (DescribeTable, CreateTable), as no deployed one does
  await callsBeforeLink(await requestUser(bot, 'fast-path-warm-bot'));
});
afterAll(async () => {
  await bot.stop();
});

/** The calls from the click to the one-time link's DM to `recipient` (the DM not counted). */
async function callsBeforeLink(request: AccessRequest, recipient = 'U0RECIPIENT') {
  await bot.drain();
  const awsFrom = bot.awsCalls.length;
  const slackFrom = bot.slack.calls.length;
  let before: { aws: string[]; slack: string[] } | undefined;
  const watch = (call: { method: string; args?: Record<string, unknown> }) => {
    if (before || call.method !== 'chat.postMessage' || call.args?.channel !== recipient) return;
    before = {
      aws: bot.awsCalls.slice(awsFrom),
      // the fake Slack records a call before its observers see it: the DM itself is the last one
      slack: bot.slack.calls.slice(slackFrom, -1).map((c) => c.method),
    };
  };
  bot.slack.observers.push(watch);
  try {
    await click(bot, request, 'U0APPROVER1');
    await bot.drain();
  } finally {
    bot.slack.observers.splice(bot.slack.observers.indexOf(watch), 1);
  }
  if (!before) throw new Error(`no one-time link was DMed to ${recipient}`);
  return before;
}

describe('approval to one-time link: the fast path', () => {
  it('an approved access key is DMed after 14 AWS calls and no Slack call but the clicker check', async () => {
    const request = await requestUser(bot, 'fast-path-bot');

    const before = await callsBeforeLink(request);

    expect(before.aws).toEqual([
      // the click (Slack function)
      'dynamodb:GetItem',
      'dynamodb:TransactWriteItems',
      // the worker: job claim, the request, the run's start (plan, lease, audit)
      'dynamodb:UpdateItem',
      'dynamodb:GetItem',
      'dynamodb:TransactWriteItems',
      // the IAM steps, checkpointed after the DM
      'iam:CreateUser',
      'iam:AddUserToGroup',
      // the credentials step: the delivery key read once, the key minted, the delivery claimed, the secret, the link, its alias
      'dynamodb:GetItem',
      'iam:ListAccessKeys',
      'iam:CreateAccessKey',
      'dynamodb:UpdateItem',
      'secretsmanager:CreateSecret',
      'dynamodb:PutItem',
      'dynamodb:PutItem',
    ]);
    expect(before.slack.filter((m) => m !== 'users.info')).toEqual([]);
  });

  it('the steps checkpointed with the delivery keep their own results and audit events', async () => {
    const request = await requestUser(bot, 'fast-path-audit-bot', { groups: ['ci-deployers', 'read-only'] });

    await callsBeforeLink(request);

    const done = (await bot.deps.store.requests.get(request.id)) as AccessRequest;
    expect(done.status).toBe('done');
    const steps = done.run?.steps ?? [];
    expect(steps.map((s) => `${s.op} ${s.result}`).slice(0, 5)).toEqual([
      'check-policy done',
      'CreateUser done',
      'AddUserToGroup done',
      'AddUserToGroup done',
      'deliver-credentials done',
    ]);
    const actions = await auditActions(bot, request.id);
    expect(actions.filter((a) => a === 'step-decided')).toHaveLength(1);
    expect(actions.filter((a) => a === 'step-done').length).toBeGreaterThanOrEqual(4); // 3 IAM steps + delivery
    expect(done.run?.seq).toBeGreaterThan(0);
  });
});
