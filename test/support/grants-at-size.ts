/**
 * Many active temporary memberships, seeded straight into the requests table (as their runs leave them: ended by
 * their commit, asleep in their `wait` step until their end), and what one run of the one-minute task
 * (`wake-due-runs`) calls with them: test/integration/temporary-membership-at-size.test.ts asserts it, and
 * `npm run bench -- grants` prints it (bench/sections/grants.ts).
 */
import { minuteTasks, runScheduledTasks } from '../../src/jobs/schedule.js';
import type { Job } from '../../src/jobs/types.js';
import { runJob } from '../../src/jobs/worker.js';
import type { AccessRequest } from '../../src/store/requests.js';
import type { TestBot } from './bot.js';

const HOUR = 3_600_000;

/** `total` grants, of which `due` end now (the others in an hour); returns their ids. Not role-checked (setup). */
export async function seedGrants(bot: TestBot, total: number, due: number, prefix = 'seed'): Promise<string[]> {
  const now = bot.clock.now();
  const ids: string[] = [];
  const batch: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const id = `${prefix}-${String(i).padStart(5, '0')}`;
    const endsAt = new Date(now.getTime() + (i < due ? -1000 : HOUR)).toISOString();
    const request: AccessRequest = {
      id,
      kind: 'temporary-membership',
      plan: [{ op: 'AddUserToGroup', userName: `${prefix}-user-${i}`, group: 'ci-deployers' }],
      owner: 'U0OWNER',
      status: 'done',
      requester: 'U0REQUESTER',
      recipient: 'U0OWNER',
      account: 'home',
      accountId: '123456789012',
      userName: `${prefix}-user-${i}`,
      path: '/iam-slack-bot/',
      groups: ['ci-deployers'],
      accessType: 'keys',
      tags: [],
      justification: 'seeded',
      approvals: [{ user: 'U0APPROVER1', at: now.toISOString() }],
      attempt: 1,
      credentialIssue: 0,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 72 * HOUR).toISOString(),
      updatedAt: now.toISOString(),
      version: 1,
      grant: { durationMs: HOUR, startedAt: now.toISOString(), endsAt, noticeFor: endsAt, extensions: 0 },
      run: {
        attempt: 1,
        steps: [
          { t: 'commit', op: 'commit', args: {}, result: 'done' },
          { t: 'wait', op: 'grant-wait', args: {} },
        ],
        cursor: 1,
        part: 1,
        leaseUntil: 0,
        seq: 1,
        wakeAt: endsAt,
      },
    } as AccessRequest;
    batch.push(bot.deps.store.requests.create(request));
    if (batch.length >= 25) await Promise.all(batch.splice(0));
    ids.push(id);
  }
  await Promise.all(batch);
  return ids;
}

/** One run of the one-minute task as the schedule function runs it, its jobs not run: its AWS calls by action. */
export async function minuteTaskCalls(bot: TestBot): Promise<{ calls: Record<string, number>; woken: number }> {
  const from = bot.awsCalls.length;
  const jobs: unknown[] = [];
  bot.dispatcher.setRunner(async (job) => {
    jobs.push(job);
  });
  try {
    const results = await bot.as('schedule', () => runScheduledTasks(bot.deps, minuteTasks));
    const calls: Record<string, number> = {};
    for (const call of bot.awsCalls.slice(from)) calls[call] = (calls[call] ?? 0) + 1;
    await bot.drain(); // the hand-offs (not run: counted)
    const woken = (results['wake-due-runs'] as { woken?: number } | undefined)?.woken ?? -1;
    return { calls, woken: jobs.length === woken ? woken : -1 };
  } finally {
    bot.dispatcher.setRunner((job) => runJob(bot.deps, job as Job));
  }
}
