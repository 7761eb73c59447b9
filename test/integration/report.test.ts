/**
 * `/iam report [account]`: for approvers, per account the access keys by age band, overdue keys with their owners,
 * unowned and never-used keys, by DM, and the same as a CSV file uploaded to that DM (files.getUploadURLExternal,
 * the upload, files.completeUploadExternal). From the ownership projection of a seeded moto account, with the
 * injected clock and the role checker.
 */
import { CreateAccessKeyCommand, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY, HOUR } from '../../src/clock.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { existingUser } from '../support/changes.js';
import { dmsTo } from '../support/create-user.js';
import { callsBeforeAnswer } from '../support/network-calls.js';

let bot: TestBot;
/** Key ids made in moto, by user. */
const keys: Record<string, string[]> = {};
let createdAt = 0;

beforeAll(async () => {
  // As deployed: with the bot's ids Bolt makes no auth.test before each event (see calls-before-answer.test.ts).
  bot = await startTestBot({ env: { SLACK_BOT_ID: 'B0BOT', SLACK_BOT_USER_ID: 'U0BOT' } });
  const iam = bot.deps.aws.account().iam;
  const makeKey = async (userName: string, active = true) => {
    const out = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
    const id = out.AccessKey?.AccessKeyId ?? '';
    if (!active)
      await iam.send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: id, Status: 'Inactive' }));
    keys[userName] = [...(keys[userName] ?? []), id];
  };
  // The seeded account: two owners, one unowned user, one user without keys, one inactive key.
  await existingUser(bot, 'report-ci', { owner: 'U0OWNERA' });
  await makeKey('report-ci');
  await makeKey('report-ci');
  await existingUser(bot, 'report-old', { owner: 'U0OWNERB' });
  await makeKey('report-old', false);
  await existingUser(bot, 'report-orphan');
  await makeKey('report-orphan');
  await existingUser(bot, 'report-console', { owner: 'U0OWNERA' });
  await bot.schedule(); // the projection refresh reads them from IAM
  await bot.drain(); // the projection refresh parts it hands the worker
  createdAt = Date.parse((await bot.deps.store.users.get('home', 'report-ci'))?.keys[0]?.createdAt ?? '');
});
afterAll(async () => {
  await bot.stop();
});

/** `/iam report ...` as `user`: the ephemeral answer, then what the worker sent. */
async function report(args: string, user: string) {
  const filesBefore = new Set(bot.slack.files.keys());
  const dmsBefore = dmsTo(bot, user).length;
  const { result } = await bot.command(`report ${args}`.trim(), user);
  expect(result.statusCode).toBe(200);
  await bot.drain();
  const answer = String(JSON.parse(result.body || '{}').text ?? '');
  const dms = dmsTo(bot, user).slice(dmsBefore);
  const files = [...bot.slack.files].filter(([id]) => !filesBefore.has(id)).map(([, f]) => f);
  return { answer, dms, files };
}

const at = (days: number) => bot.clock.set(new Date(createdAt + days * DAY + HOUR));
const masked = (id: string) => `${id.slice(0, 4)}…${id.slice(-4)}`;

describe('/iam report', () => {
  it('counts the keys by age band as the clock passes the policy ages (80 due soon, 90 overdue)', async () => {
    at(10);
    const fine = await report('home', 'U0APPROVER1');
    at(85);
    const dueSoon = await report('home', 'U0APPROVER1');
    at(95);
    const overdue = await report('home', 'U0APPROVER1');

    expect(fine.answer).toContain("I'll send it to you by DM");
    expect(fine.dms.join()).toContain(
      '*home*: 4 IAM users, 4 access keys: 0 overdue, 0 due soon, 3 fine, 1 inactive · 1 unowned · 4 never used',
    );
    expect(dueSoon.dms.join()).toContain('4 access keys: 0 overdue, 3 due soon, 0 fine, 1 inactive');
    expect(overdue.dms.join()).toContain('4 access keys: 3 overdue, 0 due soon, 0 fine, 1 inactive');
  });

  it('names the overdue keys with their owners, the unowned and the never-used keys, ids masked', async () => {
    at(95);
    const { dms } = await report('', 'U0APPROVER1');
    const text = dms.join();

    expect(text).toContain('Overdue (3):');
    expect(text).toContain(`\`report-ci\` \`${masked(keys['report-ci']?.[0] ?? '')}\` 95 d old, owner <@U0OWNERA>`);
    expect(text).toContain(
      `\`report-orphan\` \`${masked(keys['report-orphan']?.[0] ?? '')}\` 95 d old, owner no owner`,
    );
    expect(text).toContain('Unowned (1):');
    expect(text).toContain('Never used (4):');
    for (const id of Object.values(keys).flat()) expect(text).not.toContain(id);
  });

  it('uploads the same as a CSV to the DM: one row per key, ids masked, that parses and matches', async () => {
    at(95);
    const { files } = await report('home', 'U0APPROVER2');

    expect(files).toHaveLength(1);
    const [file] = files;
    expect(file?.channel).toBe('D0APPROVER2'); // the requester's DM with the bot
    expect(file?.filename).toMatch(/^iam-keys-\d{4}-\d{2}-\d{2}\.csv$/);
    const rows = parse(file?.content ?? '', { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0] ?? {})).toEqual([
      'account',
      'user',
      'owner',
      'key',
      'status',
      'age_days',
      'band',
      'last_used',
      'created',
      'console',
      'mfa',
    ]);
    const byKey = (id: string) => rows.find((r) => r.key === masked(id));
    expect(rows).toHaveLength(4);
    expect(byKey(keys['report-ci']?.[1] ?? '')).toMatchObject({
      account: 'home',
      user: 'report-ci',
      owner: 'U0OWNERA',
      status: 'Active',
      age_days: '95',
      band: 'overdue',
      last_used: 'never',
    });
    expect(byKey(keys['report-old']?.[0] ?? '')).toMatchObject({
      user: 'report-old',
      status: 'Inactive',
      band: 'inactive',
    });
    expect(byKey(keys['report-orphan']?.[0] ?? '')).toMatchObject({ owner: '', band: 'overdue' });
    expect(rows.map((r) => r.band).filter((b) => b === 'overdue')).toHaveLength(3);
    for (const id of Object.values(keys).flat()) expect(file?.content).not.toContain(id);
  });

  it('lets a member of an approver user group ask for it', async () => {
    bot.slack.usergroups.set('S0SECURITY', ['U0SECMEMBER']);

    const { dms, files } = await report('', 'U0SECMEMBER');

    expect(dms).toHaveLength(1);
    expect(files).toHaveLength(1);
  });

  it('refuses anyone who approves nothing, and sends nothing', async () => {
    const { answer, dms, files } = await report('', 'U0OWNERA');

    expect(answer).toContain('Only approvers can see the compliance report');
    expect(dms).toEqual([]);
    expect(files).toEqual([]);
  });

  it('refuses an account the policy does not name', async () => {
    const { answer, files } = await report('nowhere', 'U0APPROVER1');

    expect(answer).toContain('I know no account `nowhere`');
    expect(files).toEqual([]);
  });

  it('does no AWS call before its answer: the approver check, the answer, one hand-off to the worker', async () => {
    const calls = await callsBeforeAnswer(bot, () => bot.command('report', 'U0APPROVER1'));

    expect(calls.result.statusCode).toBe(200);
    expect(calls.aws).toEqual([]);
    expect(calls.slack).toEqual([]); // a listed approver: no user group lookup
    expect(calls.handOffs).toEqual(['report']);
  });

  it('is listed by /iam help', async () => {
    const { result } = await bot.command('help', 'U0OWNERA');

    expect(result.body).toContain('/iam report');
  });
});
