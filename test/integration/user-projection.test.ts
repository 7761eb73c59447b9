/**
 * The ownership projection and the commands that read it: the scheduled refresh builds it from IAM (moto), the bot's
 * own changes update it at once (userChanged after create-user), and `/iam users` / `/iam user` answer from it
 * through the real signed Slack handler, with a DynamoDB read or two and no IAM call.
 */
import {
  AddUserToGroupCommand,
  CreateAccessKeyCommand,
  CreateLoginProfileCommand,
  CreateUserCommand,
  DeleteUserCommand,
  GetCredentialReportCommand,
  type IAMClient,
  TagUserCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import dynamoose from 'dynamoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY, ManualClock } from '../../src/clock.js';
import { runProjectionRefreshPart } from '../../src/jobs/projection-refresh.js';
import { userChanged } from '../../src/services/user-changes.js';
import { refreshAccount } from '../../src/services/user-projection.js';
import { LEGACY_INDEX_SK } from '../../src/store/users.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { click, requestUser } from '../support/create-user.js';

let bot: TestBot;
let iam: IAMClient;
const clock = new ManualClock(new Date());
const PATH = '/iam-slack-bot/';
const keyIds: Record<string, string> = {};

/** Creates a user straight in moto (as someone outside the bot would), returning its key id if it gets one. */
async function seedUser(
  name: string,
  opts: { owner?: string; groups?: string[]; key?: boolean; console?: boolean; path?: string } = {},
) {
  await iam.send(
    new CreateUserCommand({
      UserName: name,
      Path: opts.path ?? PATH,
      ...(opts.owner ? { Tags: [{ Key: 'slack-user-id', Value: opts.owner }] } : {}),
    }),
  );
  for (const g of opts.groups ?? []) await iam.send(new AddUserToGroupCommand({ UserName: name, GroupName: g }));
  if (opts.console) await iam.send(new CreateLoginProfileCommand({ UserName: name, Password: 'Seeded-password-1!x' }));
  if (opts.key) {
    const key = await iam.send(new CreateAccessKeyCommand({ UserName: name }));
    keyIds[name] = key.AccessKey?.AccessKeyId ?? '';
  }
}

/** The frequent schedule, and the refresh parts it hands the worker (one per account), run to their end. */
async function schedule() {
  const results = await bot.schedule();
  await bot.drain();
  return results;
}

/** One part of the home account's refresh, as the worker runs it (the schedule dispatches it): what it did. */
let runs = 0;
const refreshPart = async () => {
  const part = await bot.as('worker', () =>
    runProjectionRefreshPart(bot.deps, { accounts: ['home'], run: `test-${++runs}`, part: 1 }),
  );
  const home = part.refreshed.home;
  if (!home) throw new Error(`The part did not refresh home: ${JSON.stringify(part)}`);
  return home;
};

const answer = (result: { body?: string }) => JSON.stringify(JSON.parse(result.body || '{}'));

beforeAll(async () => {
  bot = await startTestBot({ clock });
  iam = bot.deps.aws.account().iam;
  await seedUser('legacy-ci', { owner: 'U0ALICE', groups: ['ci-deployers', 'read-only'], key: true });
  await seedUser('legacy-console', { owner: 'U0ALICE', console: true });
  await seedUser('orphan', { groups: ['read-only'], key: true });
  await seedUser('admin-outside', { owner: 'U0ALICE', path: '/admins/', key: true });
  await schedule();
});
afterAll(async () => {
  await bot.stop();
});

describe('the scheduled refresh', () => {
  it('projects every user under the managed paths with its owner (tag), groups, keys and console access', async () => {
    const ci = await bot.deps.store.users.get('home', 'legacy-ci');
    const consoleUser = await bot.deps.store.users.get('home', 'legacy-console');

    expect(ci).toMatchObject({
      owner: 'U0ALICE',
      path: PATH,
      groups: ['ci-deployers', 'read-only'],
      console: false,
      keys: [{ id: keyIds['legacy-ci'], status: 'Active' }],
    });
    expect(consoleUser).toMatchObject({ owner: 'U0ALICE', console: true, keys: [], groups: [] });
    expect((await bot.deps.store.users.get('home', 'orphan'))?.owner).toBeUndefined();
  });

  it('leaves out users outside the managed paths', async () => {
    expect(await bot.deps.store.users.get('home', 'admin-outside')).toBeUndefined();
  });

  it('removes a user deleted in IAM and picks up an owner tag and a key status changed in IAM', async () => {
    await seedUser('short-lived', { owner: 'U0ALICE' });
    await schedule();
    expect(await bot.deps.store.users.get('home', 'short-lived')).toBeDefined();

    await iam.send(new DeleteUserCommand({ UserName: 'short-lived' }));
    await iam.send(new TagUserCommand({ UserName: 'orphan', Tags: [{ Key: 'slack-user-id', Value: 'U0BOB' }] }));
    await iam.send(
      new UpdateAccessKeyCommand({ UserName: 'legacy-ci', AccessKeyId: keyIds['legacy-ci'], Status: 'Inactive' }),
    );
    const result = await refreshPart();

    expect(await bot.deps.store.users.get('home', 'short-lived')).toBeUndefined();
    expect((await bot.deps.store.users.get('home', 'orphan'))?.owner).toBe('U0BOB');
    expect((await bot.deps.store.users.get('home', 'legacy-ci'))?.keys[0]?.status).toBe('Inactive');
    expect(result).toMatchObject({ removed: 1 });
    await iam.send(
      new UpdateAccessKeyCommand({ UserName: 'legacy-ci', AccessKeyId: keyIds['legacy-ci'], Status: 'Active' }),
    );
    await schedule();
  });

  it('writes nothing and reads no key of anyone when nothing changed in IAM', async () => {
    const result = await refreshPart();

    // GetAccountAuthorizationDetails, GenerateCredentialReport, GetCredentialReport: nothing per user.
    expect(result).toMatchObject({ written: 0, removed: 0, liveReads: 0, iamCalls: 3 });
  });

  it('reads live a user the credential report does not know yet (created after IAM generated it)', async () => {
    await seedUser('brand-new', { owner: 'U0ALICE', key: true, console: true });
    // STUB: moto's credential report is generated on every request; IAM's is at most every four hours, so a user
    // created since is missing from it. Drop that user's row, as IAM's older report would.
    const name = 'dropBrandNewFromReport';
    iam.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        const output = out.output as { Content?: Uint8Array };
        if (context.commandName === GetCredentialReportCommand.name && output.Content) {
          const csv = Buffer.from(output.Content).toString('utf8');
          output.Content = Buffer.from(
            csv
              .split('\n')
              .filter((l) => !l.startsWith('brand-new,'))
              .join('\n'),
          );
        }
        return out;
      },
      { step: 'initialize', name },
    );
    let result: Awaited<ReturnType<typeof refreshPart>>;
    try {
      result = await refreshPart();
    } finally {
      iam.middlewareStack.remove(name);
    }

    expect(result).toMatchObject({ liveReads: 1 });
    expect(await bot.deps.store.users.get('home', 'brand-new')).toMatchObject({
      console: true,
      keys: [{ id: keyIds['brand-new'], status: 'Active' }],
    });
  });

  it("makes at most 10 IAM calls and no write when the report is older than the bot's own key changes and nothing changed since", async () => {
    // Six users in the report with one key each, then a second key each, which the bot projects at once (userChanged,
    // as after a rotation it delivered).
    const names = Array.from({ length: 6 }, (_, i) => `rotated-after-report-${i}`);
    for (const n of names) await seedUser(n, { owner: 'U0ALICE', key: true });
    await schedule();
    // STUB: moto generates the credential report anew on every request; IAM generates it at most every four hours,
    // so for hours after those changes the report still shows the keys as they were. Serve the report of now.
    const frozen = await iam.send(new GetCredentialReportCommand({}));
    const stub = 'serveTheReportOfBeforeTheChanges';
    iam.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        if (context.commandName === GetCredentialReportCommand.name)
          (out.output as { Content?: Uint8Array }).Content = frozen.Content;
        return out;
      },
      { step: 'initialize', name: stub },
    );
    try {
      for (const n of names) {
        await iam.send(new CreateAccessKeyCommand({ UserName: n }));
        await bot.as('worker', () => userChanged(bot.deps, 'home', n));
      }
      await bot.drain();

      // Act: two refreshes, 15 minutes apart as scheduled, with nothing changed since the bot projected its changes.
      const refreshes = [];
      for (let i = 0; i < 2; i++) {
        clock.advance(15 * 60_000);
        const from = bot.awsCalls.length;
        const result = await bot.as('worker', () => refreshAccount(bot.deps, 'home', { reportWaitMs: 0 }));
        refreshes.push({ result, calls: bot.awsCalls.slice(from) });
      }

      // Assess
      for (const { result, calls } of refreshes) {
        expect(result.iamCalls).toBeLessThanOrEqual(10);
        expect(calls.filter((c) => c.startsWith('iam:'))).toHaveLength(result.iamCalls);
        expect(result.written).toBe(0);
        expect(
          calls.filter((c) => /^dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem|TransactWriteItems)$/.test(c)),
        ).toEqual([]);
      }
      for (const n of names) expect((await bot.deps.store.users.get('home', n))?.keys).toHaveLength(2);
    } finally {
      iam.middlewareStack.remove(stub);
    }
  });
});

describe('the scheduled refresh of keys the credential report says were used', () => {
  it('writes nothing at the next refresh when nothing changed in IAM (a key read back from DynamoDB compares equal whatever the order of its fields)', async () => {
    // Prepare: three users with a key, and IAM's report saying when and where each key was last used.
    const names = ['used-key-0', 'used-key-1', 'used-key-2'];
    for (const n of names) await seedUser(n, { owner: 'U0ALICE', key: true });
    const real = await iam.send(new GetCredentialReportCommand({}));
    const [head = '', ...lines] = Buffer.from(real.Content ?? new Uint8Array())
      .toString('utf8')
      .trim()
      .split('\n');
    const columns = head.split(',');
    const at = (name: string) => columns.indexOf(name);
    const used = lines.map((line) => {
      const fields = line.split(',');
      if (!names.includes(fields[0] ?? '')) return line;
      fields[at('access_key_1_last_used_date')] = '2026-01-02T03:04:05+00:00';
      fields[at('access_key_1_last_used_region')] = 'eu-west-1';
      fields[at('access_key_1_last_used_service')] = 's3';
      return fields.join(',');
    });
    // STUB: moto reports no last use for a key its own SDK calls did not sign; IAM reports it. Serve the report with it.
    const content = new Uint8Array(Buffer.from(`${[head, ...used].join('\n')}\n`));
    const stub = 'serveTheReportWithLastUse';
    iam.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        if (context.commandName === GetCredentialReportCommand.name)
          (out.output as { Content?: Uint8Array }).Content = content;
        return out;
      },
      { step: 'initialize', name: stub },
    );
    try {
      clock.advance(15 * 60_000);
      const first = await bot.as('worker', () => refreshAccount(bot.deps, 'home', { reportWaitMs: 0 }));
      expect((await bot.deps.store.users.get('home', 'used-key-0'))?.keys[0]).toMatchObject({
        lastUsedAt: '2026-01-02T03:04:05.000Z',
        lastUsedService: 's3',
        lastUsedRegion: 'eu-west-1',
      });
      expect(first.written).toBeGreaterThanOrEqual(names.length);

      // Act: the next refresh, 15 minutes later, with nothing changed in IAM.
      clock.advance(15 * 60_000);
      const from = bot.awsCalls.length;
      const second = await bot.as('worker', () => refreshAccount(bot.deps, 'home', { reportWaitMs: 0 }));

      // Assess
      expect(second.written).toBe(0);
      expect(
        bot.awsCalls
          .slice(from)
          .filter((c) => /^dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem|TransactWriteItems)$/.test(c)),
      ).toEqual([]);
    } finally {
      iam.middlewareStack.remove(stub);
    }
  });
});

describe('a user created through the bot', () => {
  let requestId: string;
  beforeAll(async () => {
    const request = await requestUser(bot, 'deploy-bot', { recipient: 'U0RECIPIENT', groups: ['ci-deployers'] });
    await click(bot, request, 'U0APPROVER1');
    await bot.drain();
    requestId = request.id;
  });

  it('is in the projection at once, owned by the recipient, with the request that created it', async () => {
    const projected = await bot.deps.store.users.get('home', 'deploy-bot');

    expect(projected).toMatchObject({ owner: 'U0RECIPIENT', groups: ['ci-deployers'], requestIds: [requestId] });
    expect(projected?.keys).toHaveLength(1);
  });

  it('shows in `/iam users` of the recipient, with its groups and its key id masked', async () => {
    const keyId = (await bot.deps.store.users.get('home', 'deploy-bot'))?.keys[0]?.id ?? 'missing';
    const from = bot.awsCalls.length;
    const { result } = await bot.command('users', 'U0RECIPIENT');
    const calls = bot.awsCalls.slice(from);

    expect(result.statusCode).toBe(200);
    expect(answer(result)).toContain('deploy-bot');
    expect(answer(result)).toContain('ci-deployers');
    expect(answer(result)).toContain(`${keyId.slice(0, 4)}…${keyId.slice(-4)}`);
    expect(answer(result)).not.toContain(keyId);
    expect(answer(result)).toContain('fine');
    // One Query of the owner's partition: the owner's users only, whatever the size of the table.
    expect(calls).toEqual(['dynamodb:Query']);
  });

  it("shows someone else's users with `/iam users @someone`, and not the caller's", async () => {
    const { result } = await bot.command('users <@U0ALICE|alice>', 'U0RECIPIENT');

    expect(answer(result)).toContain('legacy-ci');
    expect(answer(result)).toContain('legacy-console');
    expect(answer(result)).not.toContain('deploy-bot');
    expect(answer(result)).not.toContain('admin-outside');
  });

  it('shows one user with its owner and the request that created it, in two reads', async () => {
    const from = bot.awsCalls.length;
    const { result } = await bot.command('user deploy-bot', 'U0SOMEONE');
    const calls = bot.awsCalls.slice(from);

    expect(answer(result)).toContain('Owner: <@U0RECIPIENT>');
    expect(answer(result)).toContain(requestId);
    expect(answer(result)).toContain('create-user, done');
    expect(calls).toEqual(['dynamodb:GetItem', 'dynamodb:BatchGetItem']);
  });

  it('keeps the request after the scheduled refresh', async () => {
    await schedule();

    expect((await bot.deps.store.users.get('home', 'deploy-bot'))?.requestIds).toEqual([requestId]);
  });
});

describe('looking', () => {
  it('says a user has no owner, and lists unowned users with --unowned', async () => {
    await seedUser('nobodys', { key: true });
    await schedule();

    const detail = await bot.command('user nobodys', 'U0SOMEONE');
    const unowned = await bot.command('users --unowned', 'U0SOMEONE');

    expect(answer(detail.result)).toContain('unowned');
    expect(answer(unowned.result)).toContain('nobodys');
    expect(answer(unowned.result)).not.toContain('legacy-ci');
    expect(answer(unowned.result)).not.toContain('orphan'); // owned by U0BOB since its tag was set
  });

  it('finds a user whatever the case of its name, and says so when it knows none', async () => {
    const upper = await bot.command('user LEGACY-CI', 'U0SOMEONE');
    const none = await bot.command('user no-such-user', 'U0SOMEONE');
    const outside = await bot.command('user admin-outside', 'U0SOMEONE');
    const badAccount = await bot.command('user legacy-ci --account nowhere', 'U0SOMEONE');

    expect(answer(upper.result)).toContain('Owner: <@U0ALICE>');
    expect(answer(none.result)).toContain('I know no IAM user `no-such-user`');
    expect(answer(outside.result)).toContain('I know no IAM user `admin-outside`');
    expect(answer(badAccount.result)).toContain('I know no account `nowhere`');
  });

  it("grades keys by the policy's ages: fine, due soon from remindAfterDays, overdue from maxAgeDays", async () => {
    const start = clock.now();
    try {
      clock.set(new Date(start.getTime() + 81 * DAY));
      const dueSoon = answer((await bot.command('user orphan', 'U0SOMEONE')).result);
      clock.set(new Date(start.getTime() + 91 * DAY));
      const overdue = answer((await bot.command('users <@U0BOB>', 'U0SOMEONE')).result);

      expect(dueSoon).toContain('due soon for rotation');
      expect(overdue).toContain('overdue for rotation');
      expect(overdue).toContain('1 overdue');
    } finally {
      clock.set(start);
    }
  });

  it('tells a caller who owns nothing, and refuses what is not a mention', async () => {
    const nothing = await bot.command('users', 'U0NOBODY');
    const notMention = await bot.command('users alice', 'U0NOBODY');

    expect(answer(nothing.result)).toContain('owns no IAM user I manage');
    expect(answer(notMention.result)).toContain('is not a Slack mention');
  });
});

describe('userChanged', () => {
  it('removes the item of a user that no longer exists, and never throws', async () => {
    await seedUser('to-delete', { owner: 'U0ALICE' });
    await bot.as('worker', () => userChanged(bot.deps, 'home', 'to-delete'));
    expect(await bot.deps.store.users.get('home', 'to-delete')).toBeDefined();

    await iam.send(new DeleteUserCommand({ UserName: 'to-delete' }));
    await bot.as('worker', () => userChanged(bot.deps, 'home', 'to-delete'));
    await expect(bot.as('worker', () => userChanged(bot.deps, 'no-such-account', 'x'))).resolves.toBeUndefined();

    expect(await bot.deps.store.users.get('home', 'to-delete')).toBeUndefined();
  });
});

describe("the owner's partition behind `/iam users`", () => {
  /** `/iam users` of someone, with the AWS calls it made. */
  async function usersOf(owner: string) {
    await bot.drain(); // the App Home refreshes userChanged handed to the worker: only the command's calls count
    const from = bot.awsCalls.length;
    const { result } = await bot.command(`users <@${owner}|someone>`, 'U0ASKER');
    return { text: answer(result), calls: bot.awsCalls.slice(from) };
  }

  it('moves a user from the old owner to the new one when its owner tag changes, in one Query each', async () => {
    await seedUser('moving-user', { owner: 'U0OLDOWNER' });
    await seedUser('staying-user', { owner: 'U0OLDOWNER' });
    await bot.as('worker', () => userChanged(bot.deps, 'home', 'moving-user'));
    await bot.as('worker', () => userChanged(bot.deps, 'home', 'staying-user'));
    expect((await usersOf('U0OLDOWNER')).text).toContain('moving-user');

    await iam.send(
      new TagUserCommand({ UserName: 'moving-user', Tags: [{ Key: 'slack-user-id', Value: 'U0NEWOWNER' }] }),
    );
    await bot.as('worker', () => userChanged(bot.deps, 'home', 'moving-user'));

    const old = await usersOf('U0OLDOWNER');
    const next = await usersOf('U0NEWOWNER');
    expect(old.text).not.toContain('moving-user');
    expect(old.text).toContain('staying-user');
    expect(next.text).toContain('moving-user');
    expect(old.calls).toEqual(['dynamodb:Query']);
    expect(next.calls).toEqual(['dynamodb:Query']);
  });

  it('moves a user between owners on the scheduled refresh too, and drops a deleted user from its owner', async () => {
    await seedUser('refresh-moved', { owner: 'U0OLDOWNER' });
    await seedUser('refresh-deleted', { owner: 'U0OLDOWNER' });
    await schedule();
    expect((await usersOf('U0OLDOWNER')).text).toContain('refresh-deleted');

    await iam.send(
      new TagUserCommand({ UserName: 'refresh-moved', Tags: [{ Key: 'slack-user-id', Value: 'U0NEWOWNER' }] }),
    );
    await iam.send(new DeleteUserCommand({ UserName: 'refresh-deleted' }));
    await schedule();

    const old = await usersOf('U0OLDOWNER');
    expect(old.text).not.toContain('refresh-moved');
    expect(old.text).not.toContain('refresh-deleted');
    expect((await usersOf('U0NEWOWNER')).text).toContain('refresh-moved');
    expect(old.calls).toEqual(['dynamodb:Query']);
  });

  it('drops a user deleted in IAM from its owner on userChanged', async () => {
    await seedUser('changed-deleted', { owner: 'U0OLDOWNER' });
    await bot.as('worker', () => userChanged(bot.deps, 'home', 'changed-deleted'));
    expect((await usersOf('U0OLDOWNER')).text).toContain('changed-deleted');

    await iam.send(new DeleteUserCommand({ UserName: 'changed-deleted' }));
    await bot.as('worker', () => userChanged(bot.deps, 'home', 'changed-deleted'));

    expect((await usersOf('U0OLDOWNER')).text).not.toContain('changed-deleted');
  });

  it('ignores the index item a projection written before issue 20 left under an owner', async () => {
    await seedUser('post-index', { owner: 'U0PREINDEX' });
    await bot.as('worker', () => userChanged(bot.deps, 'home', 'post-index'));
    // The per-owner index item of the old layout, holding a user the owner no longer has.
    const { marshall } = dynamoose.aws.converter();
    await dynamoose.aws.ddb().putItem({
      TableName: `${bot.dynamo.tablePrefix}users`,
      Item: marshall({ pk: 'owner#U0PREINDEX', sk: LEGACY_INDEX_SK, u_c3RhbGU: { userName: 'stale-entry' } }),
    });

    const { text, calls } = await usersOf('U0PREINDEX');

    expect(text).toContain('post-index');
    expect(text).not.toContain('stale-entry');
    expect(calls).toEqual(['dynamodb:Query']);
  });

  const state = (userName: string, owner: string, path = PATH) => ({
    account: 'home',
    userName,
    path,
    owner,
    groups: [],
    console: false,
    keys: [],
    keysObservedAt: clock.now().toISOString(),
    refreshedAt: clock.now().toISOString(),
  });

  it('loses no user when many users of one owner are written at once', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `concurrent-${i}`);
    await bot.as('worker', () =>
      Promise.all(names.map((n) => bot.deps.store.users.put(state(n, 'U0BUSY'), { ifRefreshedAt: null }))),
    );

    const { text, calls } = await usersOf('U0BUSY');
    for (const n of names) expect(text).toContain(n);
    expect(calls).toEqual(['dynamodb:Query']);
  });

  it("lists an owner's users whose copies together pass DynamoDB's 400 KB item limit, in one Query", async () => {
    // 30 users of 20 KB each (a long path, which /iam users does not show): 600 KB, more than one item holds.
    const longPath = `${PATH}${'p'.repeat(20_000)}/`;
    const names = Array.from({ length: 30 }, (_, i) => `big-${String(i).padStart(2, '0')}`);
    await bot.as('worker', async () => {
      for (const n of names) await bot.deps.store.users.put(state(n, 'U0BIGOWNER', longPath), { ifRefreshedAt: null });
    });

    const { text, calls } = await usersOf('U0BIGOWNER');
    expect(text).toContain('30 IAM users');
    for (const n of names) expect(text).toContain(n);
    expect(calls).toEqual(['dynamodb:Query']);
  });
});

describe('the scheduled refresh after IAM generated a new credential report', () => {
  it('writes nothing when only the report is newer and nothing else changed in IAM', async () => {
    // Prepare: two users with a key, projected from the report IAM has now.
    const names = ['report-only-0', 'report-only-1'];
    for (const n of names) await seedUser(n, { owner: 'U0ALICE', key: true });
    clock.advance(15 * 60_000);
    await bot.as('worker', () => refreshAccount(bot.deps, 'home', { reportWaitMs: 0 }));
    const before = await Promise.all(names.map((n) => bot.deps.store.users.get('home', n)));
    expect(before.map((u) => u?.keys)).toEqual(names.map((n) => [expect.objectContaining({ id: keyIds[n] })]));
    // STUB: moto keeps the report it generated; IAM generates a new one every four hours at most. Serve the same
    // content with the time of a report generated four hours later.
    clock.advance(4 * 3_600_000);
    const generated = clock.now();
    const stub = 'aNewReportSayingTheSame';
    iam.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        if (context.commandName === GetCredentialReportCommand.name)
          (out.output as { GeneratedTime?: Date }).GeneratedTime = generated;
        return out;
      },
      { step: 'initialize', name: stub },
    );
    try {
      // Act
      clock.advance(60_000);
      const from = bot.awsCalls.length;
      const result = await bot.as('worker', () => refreshAccount(bot.deps, 'home', { reportWaitMs: 0 }));

      // Assess: the report was read, no user was written, no key read live.
      expect(result).toMatchObject({ report: 1, written: 0, liveReads: 0 });
      expect(result.iamCalls).toBeLessThanOrEqual(10);
      expect(
        bot.awsCalls
          .slice(from)
          .filter((c) => /^dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem|TransactWriteItems)$/.test(c)),
      ).toEqual([]);
      const after = await Promise.all(names.map((n) => bot.deps.store.users.get('home', n)));
      expect(after.map((u) => u?.refreshedAt)).toEqual(before.map((u) => u?.refreshedAt));
    } finally {
      iam.middlewareStack.remove(stub);
    }
  });
});
