/**
 * The change kinds on the resumable runner, where a kill meets a failure: the runner's undo reverses exactly the
 * steps its run did, whichever part did them, because each step's result is checkpointed against the user's state
 * read when the run was planned (not read again by the part that resumes). The worker is killed as Lambda's timeout
 * does (test/support/kill-points.ts: no answer; Lambda retries the job after the timeout).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessRequest } from '../../src/store/requests.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { changeRequestFor, deleteGroup, ensureGroup, existingUser, groupsOf } from '../support/changes.js';
import { approvalMessageNow, auditActions, click } from '../support/create-user.js';
import { type KillPoint, KillSwitch, pointName } from '../support/kill-points.js';
import { testPolicy } from '../support/policy.js';

let bot: TestBot;
const kills = new KillSwitch();
beforeAll(async () => {
  const policy = testPolicy();
  bot = await startTestBot({
    policy: { ...policy, groups: [...policy.groups, { name: 'log-readers', description: 'Read the logs' }] },
    decorateClient: kills.awsMiddleware,
  });
  kills.attach(bot);
});
afterAll(async () => {
  await bot?.stop();
});

/** `/iam add-to-group` for three groups, as the requester, and the stored request. */
async function askThreeGroups(name: string): Promise<AccessRequest> {
  const { result } = await bot.command(
    `add-to-group ${name} ci-deployers read-only log-readers --reason "Three groups"`,
    'U0REQUESTER',
  );
  expect(result.statusCode).toBe(200);
  await bot.drain();
  return changeRequestFor(bot, name);
}

/** Approves `request` with the worker's changing calls recorded (or, given `kill`, killed there); drains the jobs. */
async function approveRecorded(request: AccessRequest, kill?: { point: KillPoint }): Promise<KillPoint[]> {
  kills.reset();
  const points = kills.record();
  if (kill) kills.target(kill.point, 'after');
  kills.arm();
  try {
    await click(bot, request, 'U0APPROVER1');
    await bot.drain();
  } finally {
    kills.disarm();
  }
  return points;
}

describe('a change killed after an IAM write, that then fails at a later step', () => {
  it('undoes the write the killed part made, and says nothing was left changed', async () => {
    // Prepare: an uninterrupted approval shows where the worker adds the first group; then a second request whose
    // second group is deleted after it was asked for (its step fails in IAM), killed right after that first add.
    const first = 'undo-baseline';
    await existingUser(bot, first, { owner: 'U0OWNER' });
    const points = await approveRecorded(await askThreeGroups(first));
    const add = points.find((p) => p.label === 'iam:AddUserToGroup ci-deployers') as KillPoint;
    expect(add, 'the run adds ci-deployers').toBeDefined();
    const name = 'undo-after-kill';
    await existingUser(bot, name, { owner: 'U0OWNER' });
    const request = await askThreeGroups(name);
    await deleteGroup(bot, 'read-only');

    // Act: killed just after IAM added ci-deployers, before the checkpoint recording it; Lambda retries the job.
    try {
      await approveRecorded(request, { point: add });
    } finally {
      await ensureGroup(bot, 'read-only');
    }

    // Assess
    expect(kills.fired, `killed after ${pointName(add)}`).toBe(true);
    expect(kills.stats).toMatchObject({ killed: 1, retries: 1, exhausted: [] });
    const failed = (await bot.deps.store.requests.get(request.id)) as AccessRequest;
    expect(failed).toMatchObject({ status: 'failed', remaining: [] });
    expect(failed.error).toContain('AddUserToGroup undo-after-kill → read-only failed (NoSuchEntity)');
    expect(await groupsOf(bot, name)).toEqual([]);
    const actions = await auditActions(bot, request.id);
    expect(actions.filter((a) => a === 'step-undone')).toHaveLength(1);
    expect(JSON.stringify(approvalMessageNow(bot, failed).blocks)).toContain('Every step it had run was undone.');
  });
});
