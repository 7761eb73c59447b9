import { ListAccessKeysCommand, ListGroupsForUserCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../src/deps.js';
import { minuteTasks, scheduledTasks } from '../../src/jobs/schedule.js';
import type { DevBot } from '../../src/local/dev-bot.js';
import { devScheduleEvery, startDevScheduler } from '../../src/local/dev-schedule.js';
import { npmRunSlack, startDev } from '../support/dev-bot.js';

let bot: DevBot;
let port: number;
let log: string[];
beforeAll(async () => {
  // Every second rather than every minute, so the background run shows within the test.
  ({ bot, port, log } = await startDev({ DEV_SCHEDULE: '1' }));
});
afterAll(async () => {
  await bot?.stop();
});

const settle = () => fetch(`http://127.0.0.1:${port + 1}/local/settle`);
const postsTo = (channel: string) =>
  (bot.slack?.callsOf('chat.postMessage') ?? []).filter((c) => c.args.channel === channel);
const keysOf = async (userName: string) =>
  (await bot.deps.aws.account('home').iam.send(new ListAccessKeysCommand({ UserName: userName }))).AccessKeyMetadata ??
  [];

describe('npm run dev runs the schedules', () => {
  it('runs the frequent scheduled tasks in the background, every one of them, none failing', async () => {
    const deadline = Date.now() + 20_000;
    while ((bot.scheduler.runs < 1 || !bot.scheduler.last) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));

    expect(log).toContain('The frequent scheduled tasks run every 1 s (DEV_SCHEDULE=off turns them off).');
    expect(Object.keys(bot.scheduler.last ?? {})).toEqual([...minuteTasks, ...scheduledTasks].map((t) => t.name));
    expect(Object.values(bot.scheduler.last ?? {}).filter((r) => 'error' in r)).toEqual([]);
  });

  it('logs a failing task and keeps running the schedule (the dev server never sees the error)', async () => {
    const lines: string[] = [];
    // No store at all: every task that reads its state fails.
    const broken = { ...bot.deps, store: undefined } as unknown as Deps;
    const scheduler = startDevScheduler({ deps: broken, clock: bot.clock, everyMs: 50, say: (l) => lines.push(l) });
    try {
      const deadline = Date.now() + 10_000;
      while (scheduler.runs < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    } finally {
      scheduler.stop();
    }

    expect(scheduler.runs).toBeGreaterThanOrEqual(2);
    expect(lines.filter((l) => l.includes('expire-requests failed (TypeError)')).length).toBeGreaterThanOrEqual(2);
  });

  it('reads DEV_SCHEDULE: unset every minute, off (or 0) never, a number of seconds, anything else a clear error', () => {
    expect(devScheduleEvery(undefined)).toBe(60_000);
    expect(devScheduleEvery('off')).toBeUndefined();
    expect(devScheduleEvery('0')).toBeUndefined();
    expect(devScheduleEvery('5')).toBe(5_000);
    expect(() => devScheduleEvery('sometimes')).toThrow('DEV_SCHEDULE must be "off" or a number of seconds');
  });

  it('`--daily --days-ahead 85`: the recipient of a key created today gets one reminder DM with Rotate now', async () => {
    await npmRunSlack(
      port,
      '/iam create-user sched-bot --for @U0RECIPIENT --groups ci-deployers --keys --account home --reason "CI deploys"',
    );
    const approval = bot.standIn?.messages.find(
      (m) => m.channel === 'C0APPROVALS' && JSON.stringify(m.blocks).includes('sched-bot'),
    );
    if (!approval) throw new Error('no approval message for sched-bot');
    await bot.standIn?.clickButton('U0PLATFORM1', approval, 'request_approve');
    await settle();
    expect(await keysOf('sched-bot')).toHaveLength(1);
    const before = postsTo('U0RECIPIENT').length;

    const out = await npmRunSlack(port, '--daily', '--days-ahead', '85');

    // Only the reminders: the background run, on the moved clock too, may say that the link of today expired.
    const reminders = postsTo('U0RECIPIENT')
      .slice(before)
      .filter((c) => JSON.stringify(c.args.blocks).includes('key-rotate-now'));
    expect(reminders).toHaveLength(1);
    expect(JSON.stringify(reminders[0]?.args.blocks)).toContain('sched-bot');
    expect(JSON.stringify(reminders[0]?.args.blocks)).toContain('key-rotate-now');
    expect(out).toContain('Ran the daily tasks (the dev clock is 85 days ahead):');
    expect(out).toMatch(/ {2}key-scan: /);
    expect(out.match(/Posted in U0RECIPIENT:\nAn access key of IAM users you own needs your attention/g)).toHaveLength(
      1,
    );
    expect(out).toContain('[Rotate now]');
    expect(bot.clock.daysAhead).toBe(85);
  });

  it('`--hours-ahead`: a 1-hour temporary membership gets its notice before the end, then is removed', async () => {
    await npmRunSlack(port, '/iam add-to-group sched-bot read-only --for 1h --reason "A look at the logs"');
    const approval = bot.standIn?.messages.find(
      (m) => m.channel === 'C0APPROVALS' && JSON.stringify(m.blocks).includes('read-only'),
    );
    if (!approval) throw new Error('no approval message for the temporary membership');
    await bot.standIn?.clickButton('U0PLATFORM2', approval, 'request_approve');
    await settle();
    const groupsOf = async () =>
      (
        await bot.deps.aws.account('home').iam.send(new ListGroupsForUserCommand({ UserName: 'sched-bot' }))
      ).Groups?.map((g) => g.GroupName);
    const added = await groupsOf();

    const notice = await npmRunSlack(port, '--hours-ahead', '0.8');
    const end = await npmRunSlack(port, '--hours-ahead', '0.3');

    expect(added).toContain('read-only');
    expect(notice).toContain('Ran the one-minute tasks (the dev clock moved 0.8 hours):');
    expect(notice).toContain('[Extend by 1h]');
    expect(notice).toContain('[Done, remove now]');
    expect(end).toContain('The temporary membership of IAM user');
    expect(await groupsOf()).not.toContain('read-only');
  });

  it('`--leave U0RECIPIENT`: their key is inactive in the emulator, and one report is posted in the approval channel', async () => {
    const before = postsTo('C0APPROVALS').length;

    const out = await npmRunSlack(port, '--leave', 'U0RECIPIENT');

    expect((await keysOf('sched-bot')).map((k) => k.Status)).toEqual(['Inactive']);
    const reports = postsTo('C0APPROVALS')
      .slice(before)
      .filter((p) => JSON.stringify(p.args).includes('sched-bot'));
    expect(reports).toHaveLength(1);
    expect(out).toContain('U0RECIPIENT is deactivated in Slack; the bot got the user_change event.');
    expect(out).toContain('Posted in C0APPROVALS:');
    expect(bot.standIn?.stateFor('U0PLATFORM1').left).toEqual(['U0RECIPIENT']);
  });

  it('refuses a --days-ahead that is no number of days, before running anything', async () => {
    const before = bot.clock.daysAhead; // 85 days, and the hours `--hours-ahead` moved it on
    const res = await fetch(`http://127.0.0.1:${port + 1}/stand-in/daily`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ daysAhead: -3 }),
    });

    expect(res.status).toBe(400);
    expect(bot.clock.daysAhead).toBe(before);
  });
});
