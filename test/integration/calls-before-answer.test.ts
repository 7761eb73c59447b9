/**
 * Slack waits at most 3 seconds for an answer, and AwsLambdaReceiver answers only when the listener returns: what a
 * click or submission does before its answer is what the person waits for. On the Slack function a click does its
 * checks, one read, ONE conditional write and one hand-off to the worker; everything else (message updates, DMs,
 * provisioning, answers) runs in the worker. These tests count every network call each interaction makes before its
 * answer: AWS SDK calls (middleware on every client, DynamoDB's included), Slack Web API calls and response_url
 * posts (the recording fake Slack), and hand-offs to the worker (one Lambda Invoke each on AWS), with the worker's
 * jobs held until the answer.
 *
 * Documented exceptions: Deny opens its reason form with views.open before the answer, and before anything else (the
 * trigger_id expires in 3 s, so it can wait neither for the worker nor for the read and the check of who clicks,
 * after which a clicker who may not deny sees the form turn into the refusal); an approver who is named in the policy only through a Slack user group
 * adds one usergroups.users.list per group checked, cached for a minute per process (not counted here: the test
 * approvers are named directly); without SLACK_BOT_ID and SLACK_BOT_USER_ID, a container's first event adds
 * one auth.test (see beforeAll). The form's submission also checks IAM (the user must not exist, the groups must) and the
 * account (STS), in parallel, before its one write: a refusal shows on the form's field, with nothing typed lost.
 * The inline create-user, add-to-group, set-owner and remove-from-group, and /iam rotate-key, leave those checks to
 * the worker, which gives the command its one answer: whether the inline removal's user's owner (an IAM tag) asked,
 * which has it done at once without approval, is decided there once IAM has answered (rotate-key first reads its
 * user's rotation pointer: one rotation of a user at a time; when an earlier rotation holds it, the write's condition
 * checks that rotation has ended, with no read of it: still 3 calls). An approver-only
 * click (Approve, Deny, Retry, Abandon) by a listed approver adds one users.info (is the clicker a full member of this
 * workspace?), cached for a minute per process: counted here, each measured click asking afresh (the worst case); a
 * click by someone not listed is refused before it. SLACK_TEAM_ID is set, as deployed: without it the first such
 * check of a process adds one auth.test (the workspace's own team id), kept for the life of the process.
 */
import { CreateAccessKeyCommand, CreateGroupCommand, DeleteGroupCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DENY_REASON_BLOCK,
  DENY_REASON_MODAL,
  FORM_INPUT,
  REQUEST_ABANDON,
  REQUEST_DENY,
  REQUEST_RETRY,
} from '../../src/blocks/ids.js';
import { rotationStateOf } from '../../src/kinds/rotate-key/rotation.js';
import { FAKE_TEAM_ID } from '../../src/local/fake-slack.js';
import { STANDING_CACHE_MS } from '../../src/services/slack-members.js';
import type { SlackMessenger } from '../../src/slack/messenger.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { existingUser } from '../support/changes.js';
import { click, requestFor, requestUser, submitForm, validForm } from '../support/create-user.js';
import { callsBeforeAnswer } from '../support/network-calls.js';

let bot: TestBot;
beforeAll(async () => {
  // As deployed with SLACK_BOT_ID and SLACK_BOT_USER_ID set (serverless.yml passes them). Without them the Slack
  // function asks auth.test once per warm container (src/app.ts onceAuthorize), which would add one Slack call to
  // the first count below.
  bot = await startTestBot({ env: { SLACK_BOT_ID: 'B0BOT', SLACK_BOT_USER_ID: 'U0BOT', SLACK_TEAM_ID: FAKE_TEAM_ID } });
});
afterAll(async () => {
  await bot.stop();
});

/** Past the users.info answers this process keeps (STANDING_CACHE_MS): the next approver-only click asks Slack. */
const coldStanding = () => bot.clock.advance(STANDING_CACHE_MS);
const stored = async (r: AccessRequest) => (await bot.deps.store.requests.get(r.id)) as AccessRequest;
const sorted = (calls: string[]) => [...calls].sort();

/** A request whose provisioning failed (its group vanished between the form and the approval). */
async function failedRequest(userName: string): Promise<AccessRequest> {
  const request = await requestUser(bot, userName, { groups: ['read-only'] });
  const iam = bot.deps.aws.account().iam;
  await iam.send(new DeleteGroupCommand({ GroupName: 'read-only' }));
  try {
    await click(bot, request, 'U0APPROVER1');
    await bot.drain();
  } finally {
    await iam.send(new CreateGroupCommand({ GroupName: 'read-only' }));
  }
  const failed = await stored(request);
  expect(failed.status).toBe('failed');
  return failed;
}

describe('network calls before the answer', () => {
  it('/iam help: none', async () => {
    const calls = await callsBeforeAnswer(bot, () => bot.command('help'));

    expect(calls.result.statusCode).toBe(200);
    expect(calls.total).toBe(0);
  });

  it('Approve that completes the approvals: one read, one transactional write, the provisioning hand-off', async () => {
    const request = await requestUser(bot, 'calls-approve-bot');
    coldStanding();

    const calls = await callsBeforeAnswer(bot, () => click(bot, request, 'U0APPROVER1'));

    expect(calls.aws).toEqual(['dynamodb:GetItem', 'dynamodb:TransactWriteItems']);
    expect(calls.slack).toEqual(['users.info']);
    expect(calls.handOffs).toEqual(['provision']);
    expect(calls.total).toBeLessThanOrEqual(4);
    expect((await stored(request)).status).toBe('done'); // the worker did the rest after the answer
  });

  it('Approve that records a first of two approvals: read, write, hand-off (the worker answers the clicker)', async () => {
    const request = await requestUser(bot, 'calls-first-of-two-bot', { groups: ['production-admins'] });
    coldStanding();

    const calls = await callsBeforeAnswer(bot, () => click(bot, request, 'U0APPROVER1'));

    expect(calls.aws).toEqual(['dynamodb:GetItem', 'dynamodb:TransactWriteItems']);
    expect(calls.slack).toEqual(['users.info']);
    expect(calls.handOffs).toEqual(['request-update']);
    expect(calls.total).toBeLessThanOrEqual(4);
  });

  it('Approve refused (not an approver): read, the user group lookup, the refusal’s audit record, the answer', async () => {
    const request = await requestUser(bot, 'calls-refused-bot');
    // On Lambda the Slack function's process has not seen the lookup the worker made to refresh the approvers' App Home.
    (bot.deps.messenger as SlackMessenger).forgetUsergroups();

    const calls = await callsBeforeAnswer(bot, () => click(bot, request, 'U0BYSTANDER'));

    // Someone not named in the policy may still be in its approving user group (S0SECURITY): one lookup, cached.
    expect(calls.aws).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
    expect(calls.slack).toEqual(['usergroups.users.list', 'response_url']);
    expect(calls.total - 1).toBeLessThanOrEqual(3);
  });

  it('Deny: views.open for the reason form first (within the trigger’s 3 seconds), then the read and who clicks', async () => {
    const request = await requestUser(bot, 'calls-deny-bot');
    coldStanding();
    const before: string[] = [];
    const awsFrom = bot.awsCalls.length;
    const slackFrom = bot.slack.calls.length;
    const watch = (call: { method: string }) => {
      if (call.method === 'views.open')
        before.push(...bot.awsCalls.slice(awsFrom), ...bot.slack.calls.slice(slackFrom).map((c) => c.method));
    };
    bot.slack.observers.push(watch);

    let calls: Awaited<ReturnType<typeof callsBeforeAnswer>>;
    try {
      calls = await callsBeforeAnswer(bot, () => click(bot, request, 'U0APPROVER1', REQUEST_DENY));
    } finally {
      bot.slack.observers.splice(bot.slack.observers.indexOf(watch), 1);
    }

    expect(calls.slack[0]).toBe('views.open');
    expect(before.filter((c) => c !== 'views.open')).toEqual([]); // nothing before it: not a read, not users.info
    expect(calls.aws).toEqual(['dynamodb:GetItem']);
    expect(calls.slack).toEqual(['views.open', 'users.info']);
    expect(calls.total).toBeLessThanOrEqual(3);
  });

  it('the deny reason submission: read, transactional write, hand-off', async () => {
    const request = await requestUser(bot, 'calls-deny-reason-bot');
    coldStanding();

    const calls = await callsBeforeAnswer(bot, () =>
      bot.submitView({
        userId: 'U0APPROVER1',
        callbackId: DENY_REASON_MODAL,
        values: { [DENY_REASON_BLOCK]: { [FORM_INPUT]: { type: 'plain_text_input', value: 'Not needed' } } },
        privateMetadata: JSON.stringify({ requestId: request.id }),
      }),
    );

    expect(calls.aws).toEqual(['dynamodb:GetItem', 'dynamodb:TransactWriteItems']);
    expect(calls.slack).toEqual(['users.info']);
    expect(calls.handOffs).toEqual(['request-update']);
    expect((await stored(request)).status).toBe('denied');
  });

  it('Retry: read, transactional write, the provisioning hand-off', async () => {
    const request = await failedRequest('calls-retry-bot');
    coldStanding();

    const calls = await callsBeforeAnswer(bot, () => click(bot, request, 'U0APPROVER2', REQUEST_RETRY));

    expect(calls.aws).toEqual(['dynamodb:GetItem', 'dynamodb:TransactWriteItems']);
    expect(calls.slack).toEqual(['users.info']);
    expect(calls.handOffs).toEqual(['provision']);
    expect((await stored(request)).status).toBe('done');
  });

  it('Abandon: read, transactional write, hand-off', async () => {
    const request = await failedRequest('calls-abandon-bot');
    coldStanding();

    const calls = await callsBeforeAnswer(bot, () => click(bot, request, 'U0APPROVER2', REQUEST_ABANDON));

    expect(calls.aws).toEqual(['dynamodb:GetItem', 'dynamodb:TransactWriteItems']);
    expect(calls.slack).toEqual(['users.info']);
    expect(calls.handOffs).toEqual(['request-update']);
  });

  it('the create-user form submission: the checks in parallel, one transactional write, the posting hand-off', async () => {
    const calls = await callsBeforeAnswer(bot, () => submitForm(bot, validForm('calls-form-bot')));

    expect(calls.result.body ?? '').toBe('');
    expect(sorted(calls.aws)).toEqual(
      sorted([
        'sts:GetCallerIdentity',
        'iam:GetUser',
        'iam:GetGroup',
        'dynamodb:GetItem',
        'dynamodb:TransactWriteItems',
      ]),
    );
    expect(calls.writes).toBe(1);
    expect(calls.slack).toEqual([]);
    expect(calls.handOffs).toEqual(['publish-request']);
    expect((await requestFor(bot, 'calls-form-bot')).message).toBeDefined(); // posted by the worker
  });

  it('the inline create-user command: one transactional write and the posting hand-off (the worker asks IAM)', async () => {
    const calls = await callsBeforeAnswer(bot, () =>
      bot.command('create-user calls-inline-bot --groups ci-deployers --keys --reason "CI"'),
    );

    expect(calls.result.body ?? '').toBe('');
    expect(calls.aws).toEqual(['dynamodb:TransactWriteItems']);
    expect(calls.slack).toEqual([]);
    expect(calls.handOffs).toEqual(['publish-request']);
    expect(calls.total).toBeLessThanOrEqual(3);
    const request = await requestFor(bot, 'calls-inline-bot');
    expect(request.message).toBeDefined(); // checked with IAM and posted by the worker
    expect(request.accountId).toBe('123456789012');
  });

  it('the inline add-to-group command: one transactional write and the posting hand-off (the worker asks IAM)', async () => {
    await existingUser(bot, 'calls-member', { owner: 'U0OWNER' });

    const calls = await callsBeforeAnswer(bot, () =>
      bot.command('add-to-group calls-member ci-deployers --reason "CI"'),
    );

    expect(calls.result.body ?? '').toBe('');
    expect(calls.aws).toEqual(['dynamodb:TransactWriteItems']);
    expect(calls.slack).toEqual([]);
    expect(calls.handOffs).toEqual(['publish-request']);
    expect(calls.total).toBeLessThanOrEqual(3);
    const [request] = (await bot.deps.store.requests.model.scan().exec()).filter((r) => r.userName === 'calls-member');
    expect(request?.message).toBeDefined(); // checked with IAM and posted by the worker
    expect(request?.accountId).toBe('123456789012');
    expect(request?.owner).toBe('U0OWNER');
  });

  it('the inline set-owner command: one transactional write and the posting hand-off (the worker asks IAM)', async () => {
    await existingUser(bot, 'calls-owned', { owner: 'U0OWNER' });

    const calls = await callsBeforeAnswer(bot, () =>
      bot.command('set-owner calls-owned <@U0APPROVER3|carol> --reason "Carol runs it"'),
    );

    expect(calls.aws).toEqual(['dynamodb:TransactWriteItems']);
    expect(calls.slack).toEqual([]);
    expect(calls.handOffs).toEqual(['publish-request']);
    expect(calls.total).toBeLessThanOrEqual(3);
  });

  it('/iam rotate-key: the rotation pointer, one transactional write and the posting hand-off (the worker asks IAM)', async () => {
    await existingUser(bot, 'calls-rotated', { owner: 'U0OWNER' });
    const iam = bot.deps.aws.account().iam;
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: 'calls-rotated' }))).AccessKey?.AccessKeyId;

    const calls = await callsBeforeAnswer(bot, () => bot.command('rotate-key calls-rotated', 'U0REQUESTER'));

    // Not STS, GetUser, ListUserTags, ListAccessKeys (the worker's verify step), nor a users.info
    expect(calls.result.body ?? '').toBe('');
    expect(calls.aws).toEqual(['dynamodb:GetItem', 'dynamodb:TransactWriteItems']);
    expect(calls.slack).toEqual([]);
    expect(calls.handOffs).toEqual(['publish-request']);
    expect(calls.total).toBeLessThanOrEqual(3);
    const [request] = (await bot.deps.store.requests.model.scan().exec()).filter((r) => r.userName === 'calls-rotated');
    expect(request?.message).toBeDefined(); // checked with IAM and posted by the worker
    expect(request?.rotation?.oldKeyId).toBe(key);
    expect(request?.owner).toBe('U0OWNER');
    expect(request?.recipient).toBe('U0OWNER');
  });

  it('/iam rotate-key of a user rotated before: the pointer, one transactional write that checks the earlier rotation has ended, the hand-off', async () => {
    // Prepare: the owner's rotation, run at once, then ended (its new key's link expired unopened: cancelled)
    await existingUser(bot, 'calls-rerotated', { owner: 'U0OWNER' });
    const iam = bot.deps.aws.account().iam;
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: 'calls-rerotated' }))).AccessKey?.AccessKeyId;
    await bot.command('rotate-key calls-rerotated', 'U0OWNER');
    await bot.drain();
    bot.clock.advance(25 * 3_600_000);
    await bot.schedule();
    await bot.drain();
    const first = await rotationStateOf(bot.deps, 'home', 'calls-rerotated');
    expect(first?.phase).toBe('cancelled');

    // Act
    const calls = await callsBeforeAnswer(bot, () => bot.command('rotate-key calls-rerotated', 'U0REQUESTER'));
    await bot.drain();

    // Assess: not a read of the earlier rotation (the transaction's condition checks it has ended)
    expect(calls.result.body ?? '').toBe('');
    expect(calls.aws).toEqual(['dynamodb:GetItem', 'dynamodb:TransactWriteItems']);
    expect(calls.slack).toEqual([]);
    expect(calls.handOffs).toEqual(['publish-request']);
    expect(calls.total).toBeLessThanOrEqual(3);
    const second = await rotationStateOf(bot.deps, 'home', 'calls-rerotated');
    expect(second?.requestId).not.toBe(first?.requestId);
    expect(second?.oldKeyId).toBe(key);
  });

  it('/iam rotate-key of a user whose rotation is under way: refused after the pointer and the refused write, nothing stored', async () => {
    await existingUser(bot, 'calls-busy', { owner: 'U0OWNER' });
    await bot.deps.aws.account().iam.send(new CreateAccessKeyCommand({ UserName: 'calls-busy' }));
    await bot.command('rotate-key calls-busy', 'U0OWNER');
    await bot.drain();
    const underWay = await rotationStateOf(bot.deps, 'home', 'calls-busy');
    expect(underWay?.phase).toBe('grace');

    const calls = await callsBeforeAnswer(bot, () => bot.command('rotate-key calls-busy', 'U0REQUESTER'));

    expect(calls.aws).toEqual(['dynamodb:GetItem', 'dynamodb:TransactWriteItems']);
    expect(calls.handOffs).toEqual([]);
    expect(calls.total).toBeLessThanOrEqual(3);
    expect(calls.result.body ?? '').toContain(`is under way (\`${underWay?.requestId}\`)`);
    const rotations = (await bot.deps.store.requests.model.scan().exec()).filter((r) => r.userName === 'calls-busy');
    expect(rotations).toHaveLength(1);
  });

  it("the owner's inline remove-from-group: one transactional write and the hand-off; the worker asks IAM who owns the user and runs it at once", async () => {
    await existingUser(bot, 'calls-removed', { owner: 'U0OWNER', groups: ['read-only'] });

    const calls = await callsBeforeAnswer(bot, () =>
      bot.command('remove-from-group calls-removed read-only --reason "Done with it"', 'U0OWNER'),
    );
    await bot.drain();

    expect(calls.result.body ?? '').toBe(''); // acked with no message: the worker's answer is the only one
    expect(calls.aws).toEqual(['dynamodb:TransactWriteItems']);
    expect(calls.slack).toEqual([]);
    expect(calls.handOffs).toEqual(['publish-request']);
    expect(calls.total).toBeLessThanOrEqual(3);
    const [request] = (await bot.deps.store.requests.model.scan().exec()).filter((r) => r.userName === 'calls-removed');
    expect(request).toMatchObject({ status: 'done', allowedAtOnce: 'owner', owner: 'U0OWNER' });
    expect(request?.message).toBeUndefined(); // done at once, never posted for approval
  });
});
