/**
 * The daily key-age scan: the ladder of DMs, the escalation post, snooze, Rotate now, unowned keys, the budget and its
 * continuation, automatic deactivation. moto (credential report), the recording fake Slack, the injected clock and the
 * role checker. moto stamps a key's creation with the real time, so each test sets the clock relative to its keys.
 */
import { CreateAccessKeyCommand, DeleteAccessKeyCommand, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { KEY_ROTATE_NOW, KEY_SNOOZE } from '../../src/blocks/ids.js';
import { runKeyScan } from '../../src/jobs/key-scan.js';
import { dailyTasks, runScheduledTasks } from '../../src/jobs/schedule.js';
import { rotationStateOf } from '../../src/kinds/rotate-key/rotation.js';
import { refreshAccount } from '../../src/services/user-projection.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { existingUser } from '../support/changes.js';
import { callsBeforeAnswer } from '../support/network-calls.js';

const DAY = 86_400_000;
let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot({
    env: { SLACK_BOT_ID: 'B0BOT', SLACK_BOT_USER_ID: 'U0BOT' },
    // the owners this file reminds (Slack's users.info knows no one else)
    members: ['U0CALLS', 'U0DEACT', 'U0FIVEKEYS', 'U0KNOWN', 'U0LIMITED', 'U0OWNERX', 'U0PART1', 'U0PART2'],
  });
  bot.slack.members.add('U0PART3', 'U0ROTATOR', 'U0SNOOZER', 'U0STALE', 'U0TWICE', 'U0WALKER');
});
afterAll(async () => {
  await bot.stop();
});

let seq = 0;
const iam = () => bot.deps.aws.account().iam;

/** IAM users owned by `owner` (none: unowned), `keysEach` active keys each; returns the users and the newest key's creation. */
async function usersWithKeys(owner: string | undefined, users: number, keysEach = 1) {
  const names: string[] = [];
  let created = 0;
  for (let u = 0; u < users; u++) {
    const name = `age-${++seq}`;
    await existingUser(bot, name, owner ? { owner } : {});
    for (let k = 0; k < keysEach; k++) {
      const out = await iam().send(new CreateAccessKeyCommand({ UserName: name }));
      created = Math.max(created, out.AccessKey?.CreateDate?.getTime() ?? 0);
    }
    names.push(name);
  }
  await bot.as('worker', () => refreshAccount(bot.deps, 'home', { reportWaitMs: 60_000 }));
  return { names, created };
}

/** Deletes the users' keys (so later tests' scans do not see them). */
async function retire(names: readonly string[]) {
  for (const name of names) {
    const out = await iam().send(new ListAccessKeysCommand({ UserName: name }));
    for (const k of out.AccessKeyMetadata ?? [])
      await iam().send(new DeleteAccessKeyCommand({ UserName: name, AccessKeyId: k.AccessKeyId }));
  }
}

/** Sets the clock to `days` after a key's creation (plus an hour: the report's dates are to the second). */
const atAge = (created: number, days: number) => bot.clock.set(new Date(created + days * DAY + 3_600_000));

/** Runs the daily schedule as EventBridge does (the schedule function), then the jobs it dispatched (the worker). */
async function dailyRun() {
  await bot.as('schedule', () => runScheduledTasks(bot.deps, dailyTasks));
  await bot.drain();
}

/** One part of a scan run directly as the worker (a rerun, a retry, an overlapping run). */
const scanOnce = (payload: Record<string, unknown> = {}) =>
  bot.as('worker', () =>
    runKeyScan(
      bot.deps,
      { account: 'home', day: bot.clock.now().toISOString().slice(0, 10), ...payload },
      { paceMs: 0 },
    ),
  );

interface PostedMessage {
  channel: string;
  text: string;
  body: string;
  buttons: { action_id: string; value: string }[];
}
const posts = (channel: string): PostedMessage[] =>
  bot.slack
    .callsOf('chat.postMessage')
    .filter((c) => c.args.channel === channel)
    .map((c) => ({
      channel,
      text: String(c.args.text),
      body: JSON.stringify(c.args.blocks ?? []),
      buttons: ((c.args.blocks ?? []) as { elements?: { action_id?: string; value?: string }[] }[]).flatMap((b) =>
        (b.elements ?? [])
          .filter((e) => e.action_id)
          .map((e) => ({ action_id: String(e.action_id), value: String(e.value) })),
      ),
    }));
const dmsTo = (owner: string) => posts(owner);
const approvalPostsAbout = (userName: string) => posts('C0APPROVALS').filter((p) => p.body.includes(`\`${userName}\``));

describe('the key-age ladder, walked day by day', () => {
  it('from day 0 to day 120 the owner gets exactly the policy’s DMs in order, and one escalation post', async () => {
    const owner = 'U0WALKER';
    const { names, created } = await usersWithKeys(owner, 1);
    const [name] = names as [string];
    const dmDays: number[] = [];
    const escalationDays: number[] = [];
    // 121 days pass in seconds of real time, and the daily owner check walks users.list (tier 2: 20 a minute, on the
    // real clock the Web API client waits on) once a day: at Slack's pace that is one call a day, far within it
    const usersList = bot.slack.limits.perMinute.get('users.list');
    bot.slack.limits.perMinute.delete('users.list');
    bot.slack.limits.reset();
    onTestFinished(() => {
      if (usersList !== undefined) bot.slack.limits.perMinute.set('users.list', usersList);
      bot.slack.limits.reset();
    });

    for (let day = 0; day <= 120; day++) {
      atAge(created, day);
      const dmsBefore = dmsTo(owner).length;
      const escalationsBefore = approvalPostsAbout(name).length;
      await dailyRun();
      if (day === 80 || day === 97) {
        await dailyRun(); // the day's second dispatch: the worker skips the job it already ran
        await scanOnce(); // a rerun as a new job: every step is claimed already
      }
      for (let i = dmsBefore; i < dmsTo(owner).length; i++) dmDays.push(day);
      for (let i = escalationsBefore; i < approvalPostsAbout(name).length; i++) escalationDays.push(day);
    }

    // policy: reminders at 80 and 85 (remindAfterDays, maxAgeDays - 5), overdue at 90 then every 7 days
    expect(dmDays).toEqual([80, 85, 90, 97, 104, 111, 118]);
    expect(escalationDays).toEqual([97]);
    const dms = dmsTo(owner);
    expect(dms[0]?.body).toContain('due for rotation in 10 days');
    expect(dms[1]?.body).toContain('due for rotation in 5 days');
    expect(dms[2]?.body).toContain('overdue');
    // the key was never used: from the idle age on, the DM suggests deactivating it (once)
    expect(dms[2]?.body).toContain('never used: consider deactivating it');
    expect(dms.filter((d) => d.body.includes('consider deactivating'))).toHaveLength(1);
    expect(dms[0]?.buttons.map((b) => b.action_id)).toEqual([KEY_ROTATE_NOW, KEY_SNOOZE]);
    expect(JSON.parse(dms[0]?.buttons[0]?.value ?? '{}')).toMatchObject({ a: 'home', u: name });
    expect(approvalPostsAbout(name)[0]?.body).toContain(`<@${owner}>`);
    await retire(names);
  }, 120_000);

  it('two runs at once send each step once', async () => {
    const owner = 'U0TWICE';
    const { names, created } = await usersWithKeys(owner, 1);
    atAge(created, 85);

    const results = await Promise.all([scanOnce(), scanOnce(), scanOnce()]);

    expect(dmsTo(owner)).toHaveLength(1);
    expect(results.reduce((n, r) => n + r.sent, 0)).toBeGreaterThanOrEqual(1);
    expect(results.reduce((n, r) => n + r.skipped, 0)).toBeGreaterThanOrEqual(2);
    await retire(names);
  });

  it('an owner with five due keys gets one DM listing all five', async () => {
    const owner = 'U0FIVEKEYS';
    const two = await usersWithKeys(owner, 2, 2);
    const one = await usersWithKeys(owner, 1, 1);
    atAge(Math.max(two.created, one.created), 91);

    const result = await scanOnce();

    const dms = dmsTo(owner);
    expect(dms).toHaveLength(1);
    expect(dms[0]?.buttons.filter((b) => b.action_id === KEY_ROTATE_NOW)).toHaveLength(5);
    expect(dms[0]?.text).toContain('5 access keys');
    expect(result.sent).toBeGreaterThanOrEqual(1);
    await retire([...two.names, ...one.names]);
  });
});

describe('the reminder’s buttons', () => {
  it('Snooze delays the next DM by its length, twice at most (the policy’s 14 days), recorded', async () => {
    const owner = 'U0SNOOZER';
    const { names, created } = await usersWithKeys(owner, 1);
    const dmDays: number[] = [];
    const walk = async (from: number, to: number) => {
      for (let day = from; day <= to; day++) {
        atAge(created, day);
        const before = dmsTo(owner).length;
        await scanOnce();
        for (let i = before; i < dmsTo(owner).length; i++) dmDays.push(day);
      }
    };
    const snooze = async (clicker = owner) => {
      const button = dmsTo(owner)
        .at(-1)
        ?.buttons.find((b) => b.action_id === KEY_SNOOZE);
      const { responseId } = await bot.clickButton({
        userId: clicker,
        actionId: KEY_SNOOZE,
        value: String(button?.value),
      });
      await bot.drain();
      return bot.slack
        .callsOf('response_url')
        .filter((c) => c.args.response_id === responseId)
        .map((c) => String(c.args.text));
    };

    await walk(80, 80);
    expect(await snooze()).toEqual([expect.stringContaining('Snoozed')]);
    expect(await snooze()).toEqual([expect.stringContaining('snoozed already')]); // a double click changes nothing
    await walk(81, 92); // the reminder of day 85 comes 7 days later
    expect(await snooze()).toEqual([expect.stringContaining('Snoozed')]);
    await walk(93, 104); // overdue (day 90) after 14 days of snoozes in all
    expect(await snooze()).toEqual([expect.stringContaining('the policy allows 14 in all')]);
    await walk(105, 111);

    expect(dmDays).toEqual([80, 92, 104, 111]);
    const events = await bot.deps.store.audit.list(
      `key#home#${String(JSON.parse(dmsTo(owner)[0]?.buttons[0]?.value ?? '{}').k)}`,
    );
    expect(events.map((e) => [e.action, e.actor])).toEqual([
      ['key.snoozed', owner],
      ['key.snoozed', owner],
    ]);
    await retire(names);
  }, 60_000);

  it('Snooze by someone who does not own the user is refused and records nothing', async () => {
    const owner = 'U0OWNERX';
    const { names, created } = await usersWithKeys(owner, 1);
    atAge(created, 80);
    await scanOnce();
    const value = String(dmsTo(owner)[0]?.buttons.find((b) => b.action_id === KEY_SNOOZE)?.value);

    const { responseId } = await bot.clickButton({ userId: 'U0INTRUDER', actionId: KEY_SNOOZE, value });
    await bot.drain();

    const answer = bot.slack.callsOf('response_url').find((c) => c.args.response_id === responseId);
    expect(String(answer?.args.text)).toContain('Only the owner');
    const key = JSON.parse(value).k as string;
    expect(await bot.deps.store.reminders.snoozeOf('home', key)).toBeUndefined();
    await retire(names);
  });

  it('Snooze: two reads, one transaction and a hand-off before the answer', async () => {
    const owner = 'U0CALLS';
    const { names, created } = await usersWithKeys(owner, 1);
    atAge(created, 80);
    await scanOnce();
    const value = String(dmsTo(owner)[0]?.buttons.find((b) => b.action_id === KEY_SNOOZE)?.value);

    const calls = await callsBeforeAnswer(bot, () => bot.clickButton({ userId: owner, actionId: KEY_SNOOZE, value }));

    expect(calls.aws).toEqual(['dynamodb:GetItem', 'dynamodb:GetItem', 'dynamodb:TransactWriteItems']);
    expect(calls.slack).toEqual([]);
    expect(calls.handOffs).toEqual(['key-snoozed']);
    await retire(names);
  });

  it('Rotate now starts the rotation as `/iam rotate-key` typed by the owner would; anyone else is refused', async () => {
    const owner = 'U0ROTATOR';
    const { names, created } = await usersWithKeys(owner, 1);
    const [name] = names as [string];
    atAge(created, 90);
    await scanOnce();
    const value = String(dmsTo(owner)[0]?.buttons.find((b) => b.action_id === KEY_ROTATE_NOW)?.value);

    const refused = await bot.clickButton({ userId: 'U0INTRUDER', actionId: KEY_ROTATE_NOW, value });
    await bot.drain();
    expect(await rotationStateOf(bot.deps, 'home', name)).toBeUndefined();
    expect(
      String(bot.slack.callsOf('response_url').find((c) => c.args.response_id === refused.responseId)?.args.text),
    ).toContain('Only the owner');

    const calls = await callsBeforeAnswer(bot, () =>
      bot.clickButton({ userId: owner, actionId: KEY_ROTATE_NOW, value }),
    );
    expect(calls.aws).toEqual(['dynamodb:GetItem']);
    expect(calls.handOffs).toEqual(['key-rotate-now']);

    const rotation = await rotationStateOf(bot.deps, 'home', name);
    expect(rotation?.oldKeyId).toBe(JSON.parse(value).k);
    const request = await bot.deps.store.requests.get(rotation?.requestId ?? '');
    expect(request).toMatchObject({ kind: 'rotate-key', requester: owner, recipient: owner });
    // the owner's own rotation needs no approval (keys.rotationNeedsApproval is false), exactly as the command
    expect(request?.status).not.toBe('pending');
    await retire(names);
  });
});

describe('keys nobody can be reminded of', () => {
  it('unowned due keys are listed once a day in the approval channel, with how to set an owner', async () => {
    const { names, created } = await usersWithKeys(undefined, 1);
    const [name] = names as [string];
    atAge(created, 85);

    await scanOnce();
    await scanOnce();

    const listed = approvalPostsAbout(name);
    expect(listed).toHaveLength(1);
    expect(listed[0]?.body).toContain('/iam set-owner');
    atAge(created, 86);
    await scanOnce();
    expect(approvalPostsAbout(name)).toHaveLength(2);
    await retire(names);
  });

  it('owners Slack says left (deactivated) or does not know get no DM: their keys are listed in the channel, saying which', async () => {
    const gone = 'U0GONE';
    const unknown = 'U0NOTFOUND';
    bot.slack.members.deactivate(gone);
    bot.slack.members.remove(unknown);
    const a = await usersWithKeys(gone, 1);
    const b = await usersWithKeys(unknown, 1);
    atAge(Math.max(a.created, b.created), 85);

    // a day of its own: the channel's list of unowned keys is claimed once a day
    const result = await scanOnce({ day: '2099-12-31' });

    expect(result.owners).toEqual(expect.arrayContaining([gone, unknown]));
    expect(dmsTo(gone)).toHaveLength(0);
    expect(dmsTo(unknown)).toHaveLength(0);
    expect(approvalPostsAbout(a.names[0] as string)[0]?.body).toContain(`its owner <@${gone}> left Slack`);
    // unknown is not gone: a user_not_found id is a mistyped tag or another workspace's id, not someone who left
    expect(approvalPostsAbout(b.names[0] as string)[0]?.body).toContain(
      `its owner tag <@${unknown}> is an id Slack does not know`,
    );
    expect(approvalPostsAbout(b.names[0] as string)[0]?.body).not.toContain('left Slack');
    bot.slack.members.reactivate(gone);
    bot.slack.members.add(unknown);
    await retire([...a.names, ...b.names]);
  });
});

describe('the run', () => {
  it('a run out of budget stores its cursor and a continuation job finishes it', async () => {
    const owners = ['U0PART1', 'U0PART2', 'U0PART3'];
    let created = 0;
    const all: string[] = [];
    for (const owner of owners) {
      const made = await usersWithKeys(owner, 1);
      created = Math.max(created, made.created);
      all.push(...made.names);
    }
    atAge(created, 81);

    const first = await scanOnce({ maxOwners: 1 });
    expect(first.ownersHandled).toBe(1);
    expect(first.next).toBeDefined();
    await bot.drain(); // the continuation jobs, each with the same budget

    for (const owner of owners) expect(dmsTo(owner)).toHaveLength(1);
    await retire(all);
  });

  it('asks users.info about an owner only in the part that reaches them, not every owner in every part', async () => {
    // Prepare: three owners with due keys; a part handles one owner
    const owners = ['U0ASK1', 'U0ASK2', 'U0ASK3'];
    bot.slack.members.add(...owners);
    let created = 0;
    const all: string[] = [];
    for (const owner of owners) {
      const made = await usersWithKeys(owner, 1);
      created = Math.max(created, made.created);
      all.push(...made.names);
    }
    atAge(created, 81);
    bot.slack.clear();

    // Act: the first part alone (its continuation is not run yet)
    const first = await scanOnce({ maxOwners: 1 });
    const askedByFirst = bot.slack.callsOf('users.info').map((c) => String(c.args.user));
    await bot.drain(); // the continuations

    // Assess: the first part asked about its own owner only; the run asked about each owner once
    expect(first.ownersHandled).toBe(1);
    expect(askedByFirst.filter((u) => owners.includes(u))).toEqual(['U0ASK1']);
    const asked = bot.slack.callsOf('users.info').map((c) => String(c.args.user));
    expect(asked.filter((u) => owners.includes(u)).sort()).toEqual(owners);
    for (const owner of owners) expect(dmsTo(owner)).toHaveLength(1);
    await retire(all);
  });

  it('reads every key from the credential report; ListAccessKeys only for a user whose keys the projection does not know', async () => {
    const known = await usersWithKeys('U0KNOWN', 2);
    const stale = await usersWithKeys('U0STALE', 1);
    const [staleName] = stale.names as [string];
    // a second key made outside the bot after the projection's refresh: the projection does not know its id
    const extra = await iam().send(new CreateAccessKeyCommand({ UserName: staleName }));
    atAge(extra.AccessKey?.CreateDate?.getTime() ?? 0, 81);
    const from = bot.awsCalls.length;

    const result = await scanOnce();

    const iamCalls = bot.awsCalls.slice(from).filter((c) => c.startsWith('iam:'));
    expect(iamCalls.filter((c) => c !== 'iam:ListAccessKeys').sort()).toEqual([
      'iam:GenerateCredentialReport',
      'iam:GetCredentialReport',
    ]);
    expect(iamCalls.filter((c) => c === 'iam:ListAccessKeys')).toHaveLength(1);
    expect(result.iamCalls).toBe(3);
    expect(dmsTo('U0STALE')[0]?.buttons.filter((b) => b.action_id === KEY_ROTATE_NOW)).toHaveLength(2);
    expect(dmsTo('U0KNOWN')).toHaveLength(1); // its two users' keys in one DM
    await retire([...known.names, ...stale.names]);
  });

  it('a DM Slack answers 429 is retried by the client; one that fails is deferred and sent by the next run', async () => {
    const owner = 'U0LIMITED';
    const { names, created } = await usersWithKeys(owner, 1);
    atAge(created, 80);
    bot.slack.rateLimited.set('chat.postMessage', 1);

    const limited = await scanOnce();
    expect(limited.sent).toBe(1);
    expect(dmsTo(owner)).toHaveLength(2); // the 429 answer, then the retry
    expect(bot.slack.rateLimited.get('chat.postMessage')).toBe(0);

    atAge(created, 85);
    bot.slack.answers.set('chat.postMessage', () => ({ ok: false, error: 'channel_not_found' }));
    let failed: Awaited<ReturnType<typeof scanOnce>>;
    try {
      failed = await scanOnce();
    } finally {
      bot.slack.answers.delete('chat.postMessage');
    }
    expect(failed.sent).toBe(0);
    expect(failed.deferred).toBe(1);

    const next = await scanOnce();
    expect(next.sent).toBe(1);
    expect(dmsTo(owner).at(-1)?.body).toContain('due for rotation in 5 days');
    await retire(names);
  });

  it('auto-deactivation: a dry run changes nothing and says so; on, the key is deactivated, audited, owner told', async () => {
    const keys = bot.deps.config.policy.keys;
    const owner = 'U0DEACT';
    const { names, created } = await usersWithKeys(owner, 1);
    const [name] = names as [string];
    const statusOf = async () =>
      (await iam().send(new ListAccessKeysCommand({ UserName: name }))).AccessKeyMetadata?.[0]?.Status;
    try {
      keys.autoDeactivate = { mode: 'dry-run', afterDays: 30 };
      atAge(created, 120);
      await scanOnce();
      expect(await statusOf()).toBe('Active');
      expect(
        approvalPostsAbout(name)
          .map((p) => p.body)
          .join(),
      ).toContain('would be deactivated');

      keys.autoDeactivate = { mode: 'on', afterDays: 30 };
      atAge(created, 121);
      await scanOnce();
      expect(await statusOf()).toBe('Inactive');
      expect(dmsTo(owner).at(-1)?.body).toContain('deactivated automatically');
      expect(approvalPostsAbout(name).at(-1)?.body).toContain('deactivated automatically');
      const keyId = dmsTo(owner).at(-1)?.buttons[0]?.value ?? '{}';
      const events = await bot.deps.store.audit.list(`key#home#${JSON.parse(keyId).k}`);
      expect(events.map((e) => e.action)).toEqual(['key.auto-deactivated']);
    } finally {
      keys.autoDeactivate = { mode: 'off', afterDays: 30 };
      await retire(names);
    }
  });
});
