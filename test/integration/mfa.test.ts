/**
 * Console users without MFA (issue 22; CIS AWS Foundations 1.10, Security Hub IAM.5): the projection knows whether each
 * console user has an MFA device (the credential report's `mfa_active`, ListMFADevices on a live read); `/iam user`,
 * `/iam users` and the App Home say so; `/iam report` and its CSV list the console users without MFA; the daily scan
 * reminds their owners on the policy's MFA ladder (days since the console password was set) and escalates once.
 * moto (its credential report fills `mfa_active` and sets `password_last_changed` to the user's creation), the recording
 * Slack API, the injected clock and the role checker.
 */
import {
  CreateAccessKeyCommand,
  CreateLoginProfileCommand,
  CreateVirtualMFADeviceCommand,
  EnableMFADeviceCommand,
} from '@aws-sdk/client-iam';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY, HOUR } from '../../src/clock.js';
import { dailyTasks, runScheduledTasks } from '../../src/jobs/schedule.js';
import { readUser, refreshAccount } from '../../src/services/user-projection.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { existingUser } from '../support/changes.js';
import { testPolicy } from '../support/policy.js';

let bot: TestBot;
/** When moto made the users (the ladder counts from the console password, which moto dates at the user's creation). */
let madeAt = 0;
const OWNER = 'U0MFAOWNER';
const SAFE_OWNER = 'U0MFASAFE';

beforeAll(async () => {
  const policy = testPolicy();
  bot = await startTestBot({
    env: { SLACK_BOT_ID: 'B0BOT', SLACK_BOT_USER_ID: 'U0BOT' },
    policy: {
      ...policy,
      mfa: { remind: true, reminderDays: [1, 3], maxDays: 7, overdueRepeatDays: 7, escalateAfterDays: 7 },
    },
    members: [OWNER, SAFE_OWNER],
  });
  const iam = bot.deps.aws.account().iam;
  madeAt = Date.now();
  // a console user without MFA, one with a virtual MFA device, and a user with an access key only
  await existingUser(bot, 'mfa-missing', { owner: OWNER });
  await iam.send(
    new CreateLoginProfileCommand({
      UserName: 'mfa-missing',
      Password: 'Pass-word-0123456789',
      PasswordResetRequired: true,
    }),
  );
  await existingUser(bot, 'mfa-present', { owner: SAFE_OWNER });
  await iam.send(
    new CreateLoginProfileCommand({
      UserName: 'mfa-present',
      Password: 'Pass-word-0123456789',
      PasswordResetRequired: true,
    }),
  );
  const device = await iam.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: 'mfa-present' }));
  await iam.send(
    new EnableMFADeviceCommand({
      UserName: 'mfa-present',
      SerialNumber: device.VirtualMFADevice?.SerialNumber,
      AuthenticationCode1: '123456',
      AuthenticationCode2: '654321',
    }),
  );
  await existingUser(bot, 'mfa-keys-only', { owner: OWNER });
  await iam.send(new CreateAccessKeyCommand({ UserName: 'mfa-keys-only' }));
  await bot.as('worker', () => refreshAccount(bot.deps, 'home', { reportWaitMs: 60_000 }));
});
afterAll(async () => {
  await bot.stop();
});

const at = (days: number) => bot.clock.set(new Date(madeAt + days * DAY + HOUR));
const answer = (result: { body?: string }) => JSON.stringify(JSON.parse(result.body || '{}'));
const postsTo = (channel: string) =>
  bot.slack
    .callsOf('chat.postMessage')
    .filter((c) => c.args.channel === channel)
    .map((c) => `${String(c.args.text)} ${JSON.stringify(c.args.blocks ?? [])}`);
const mfaDms = (owner: string) => postsTo(owner).filter((p) => p.includes('no MFA device') || p.includes('MFA device'));

/** Opens the App Home tab as Slack sends it and lets the worker publish it; returns the published view as text. */
async function openHome(user: string): Promise<string> {
  const result = await bot.send(
    JSON.stringify({
      type: 'event_callback',
      team_id: 'T0TEAM',
      api_app_id: 'A0APP',
      event_id: 'Ev0MFAHOME',
      event_time: 1_700_000_000,
      event: { type: 'app_home_opened', user, channel: 'D0HOME', tab: 'home', event_ts: '1700000000.1' },
    }),
    { contentType: 'application/json' },
  );
  expect(result.statusCode).toBe(200);
  await bot.drain();
  const publish = bot.slack
    .callsOf('views.publish')
    .filter((c) => c.args.user_id === user)
    .at(-1);
  return JSON.stringify(publish?.args.view ?? {});
}

async function dailyRun() {
  await bot.as('schedule', () => runScheduledTasks(bot.deps, dailyTasks));
  await bot.drain();
}

describe('what the bot knows of MFA', () => {
  it('projects from the credential report which console users have MFA', async () => {
    const missing = await bot.deps.store.users.get('home', 'mfa-missing');
    const present = await bot.deps.store.users.get('home', 'mfa-present');
    const keysOnly = await bot.deps.store.users.get('home', 'mfa-keys-only');

    expect(missing).toMatchObject({ console: true, mfa: false });
    expect(missing?.consoleSince).toBeDefined();
    expect(present).toMatchObject({ console: true, mfa: true });
    expect(keysOnly).toMatchObject({ console: false });
    expect(keysOnly?.mfa).toBeUndefined(); // MFA is a console user's
    expect(keysOnly?.consoleSince).toBeUndefined();
  });

  it('reads MFA live (ListMFADevices) for a console user, and not for a user without a console password', async () => {
    const iam = bot.deps.aws.account().iam;
    const from = bot.awsCalls.length;

    const present = await bot.as('worker', () =>
      readUser(iam, bot.deps.config.policy, 'home', 'mfa-present', new Date()),
    );
    const missing = await bot.as('worker', () =>
      readUser(iam, bot.deps.config.policy, 'home', 'mfa-missing', new Date()),
    );
    const keysOnly = await bot.as('worker', () =>
      readUser(iam, bot.deps.config.policy, 'home', 'mfa-keys-only', new Date()),
    );

    expect(present.state === 'found' && present.user).toMatchObject({ console: true, mfa: true });
    expect(missing.state === 'found' && missing.user).toMatchObject({ console: true, mfa: false });
    expect(keysOnly.state === 'found' && keysOnly.user.mfa).toBeUndefined();
    expect(bot.awsCalls.slice(from).filter((c) => c === 'iam:ListMFADevices')).toHaveLength(2);
  });

  it('shows MFA in /iam user, /iam users and the App Home', async () => {
    at(2);
    const one = await bot.command('user mfa-missing', OWNER);
    const safe = await bot.command('user mfa-present', SAFE_OWNER);
    const list = await bot.command('users', OWNER);

    expect(answer(one.result)).toContain('no MFA');
    expect(answer(one.result)).toContain('the owner should add an MFA device');
    expect(answer(safe.result)).toContain('with MFA');
    expect(answer(list.result)).toContain('console: yes, :warning: no MFA');
    expect(answer(list.result)).toContain('console: no');

    const home = await openHome(OWNER);
    expect(home).toContain('console: yes, :warning: no MFA');
  });
});

describe('/iam report', () => {
  it('lists the console users without MFA in the DM and the CSV, and not the one with MFA', async () => {
    at(2);
    const files = bot.slack.files.size;
    const { result } = await bot.command('report home', 'U0APPROVER1');
    expect(result.statusCode).toBe(200);
    await bot.drain();

    const dm = postsTo('U0APPROVER1').at(-1) ?? '';
    expect(dm).toContain('1 console user without MFA');
    expect(dm).toContain('Console users without MFA (CIS 1.10) (1):');
    expect(dm).toContain('`mfa-missing` console password 2 d old, owner <@U0MFAOWNER>');
    expect(dm).not.toContain('`mfa-present`');
    expect(bot.slack.files.size).toBe(files + 1);
    const csv = [...bot.slack.files.values()].at(-1)?.content ?? '';
    const rows = parse(csv, { columns: true }) as Record<string, string>[];
    expect(rows.find((r) => r.user === 'mfa-missing')).toMatchObject({ console: 'yes', mfa: 'no', key: '' });
    expect(rows.find((r) => r.user === 'mfa-keys-only')).toMatchObject({ console: 'no', mfa: '' });
    expect(rows.find((r) => r.user === 'mfa-present')).toBeUndefined(); // no key, and MFA: nothing to report
  });
});

describe('the MFA ladder of the daily scan', () => {
  it('reminds the owner on the reminder days, then overdue, escalates once, and never the owner of a user with MFA', async () => {
    const dmDays: number[] = [];
    const escalations: number[] = [];
    for (let day = 0; day <= 16; day++) {
      at(day);
      const before = mfaDms(OWNER).length;
      const posts = postsTo('C0APPROVALS').filter((p) => p.includes('without MFA')).length;
      await dailyRun();
      if (mfaDms(OWNER).length > before) dmDays.push(day);
      if (postsTo('C0APPROVALS').filter((p) => p.includes('without MFA')).length > posts) escalations.push(day);
    }

    // reminders on days 1 and 3, overdue from day 7 (maxDays) repeated every 7 days, escalation at 7 + 7
    expect(dmDays).toEqual([1, 3, 7, 14]);
    expect(escalations).toEqual([14]);
    expect(mfaDms(SAFE_OWNER)).toEqual([]);
    const last = mfaDms(OWNER).at(-1) ?? '';
    expect(last).toContain('`mfa-missing`');
    expect(last).toContain('overdue');
    expect(last).toContain(
      'https://console.aws.amazon.com/iam/home#/users/details/mfa-missing?section=security_credentials',
    );
    expect(last).not.toContain('mfa-keys-only');
  });
});
