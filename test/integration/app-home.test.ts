/**
 * The App Home tab: each person's IAM users with their keys' age, status, last use and Rotate now / Snooze buttons;
 * for approvers the requests waiting for them, with Approve / Deny that work from the tab; how to ask for something.
 * Published by the worker when the tab opens and when something of the viewer's changes. Signed requests, moto, the
 * recording Slack API, the injected clock, the role checker and the Slack-limit check on every payload.
 */
import { CreateAccessKeyCommand } from '@aws-sdk/client-iam';
import dynamoose from 'dynamoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOME_USERS_SHOWN } from '../../src/blocks/home.js';
import { DENY_REASON_MODAL, KEY_ROTATE_NOW, KEY_SNOOZE, REQUEST_APPROVE, REQUEST_DENY } from '../../src/blocks/ids.js';
import { DAY, HOUR } from '../../src/clock.js';
import { rotationStateOf } from '../../src/kinds/rotate-key/rotation.js';
import { refreshHomes } from '../../src/services/home-refresh.js';
import type { ProjectedState } from '../../src/store/users.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { existingUser } from '../support/changes.js';
import { dmsTo, requestUser } from '../support/create-user.js';
import { testPolicy } from '../support/policy.js';

let bot: TestBot;
beforeAll(async () => {
  const policy = testPolicy();
  // Key rotations of someone else's user are approved by their own approver, not the global ones.
  bot = await startTestBot({
    policy: {
      ...policy,
      approvals: { ...policy.approvals, kinds: { 'rotate-key': { approvers: { users: ['U0KEYS'] } } } },
    },
  });
  bot.slack.usergroups.set('S0SECURITY', ['U0SECMEMBER']); // an approver user group (testPolicy)
  await bot.schedule(); // a first projection refresh, as the deployed bot has had
  await bot.drain(); // the projection refresh parts it hands the worker
});
afterAll(async () => {
  await bot.stop();
});

interface Block {
  type: string;
  block_id?: string;
  text?: { text: string };
  elements?: { action_id?: string; value?: string; text?: { text: string } }[];
}

let seq = 0;

/** Opens the App Home tab as Slack sends it, and lets the worker publish it; returns the published blocks. */
async function openHome(user: string): Promise<Block[]> {
  const result = await bot.send(
    JSON.stringify({
      type: 'event_callback',
      team_id: 'T0TEAM',
      api_app_id: 'A0APP',
      event_id: `Ev0HOME${++seq}`,
      event_time: 1_700_000_000,
      event: { type: 'app_home_opened', user, channel: 'D0HOME', tab: 'home', event_ts: `1700000000.${seq}` },
    }),
    { contentType: 'application/json' },
  );
  expect(result.statusCode).toBe(200);
  await bot.drain();
  return homeOf(user);
}

/** The blocks of the last App Home published for `user`. */
function homeOf(user: string): Block[] {
  const publish = bot.slack
    .callsOf('views.publish')
    .filter((c) => c.args.user_id === user)
    .at(-1);
  expect(publish, `an App Home published for ${user}`).toBeDefined();
  return ((publish?.args.view as { blocks?: Block[] } | undefined)?.blocks ?? []) as Block[];
}

const textOf = (blocks: Block[]) => blocks.map((b) => b.text?.text ?? JSON.stringify(b)).join('\n');
const buttons = (blocks: Block[]) => blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements ?? []);

/** Clicks a button of a published App Home as Slack sends it: a view container, no response_url. */
async function clickInHome(user: string, blocks: Block[], actionId: string, value: string) {
  const block = blocks.find((b) => b.elements?.some((e) => e.action_id === actionId && e.value === value));
  expect(block, `a ${actionId} button for ${value} in the App Home`).toBeDefined();
  const result = await bot.interact({
    type: 'block_actions',
    user: { id: user, username: user.toLowerCase(), team_id: 'T0TEAM' },
    team: { id: 'T0TEAM', domain: 'example' },
    api_app_id: 'A0APP',
    token: 'legacy-verification-token',
    trigger_id: `${++seq}.${Date.now()}.trigger`,
    container: { type: 'view', view_id: 'V0HOME' },
    view: { id: 'V0HOME', type: 'home', blocks, private_metadata: '', callback_id: '', hash: `${seq}.hash` },
    actions: [
      {
        type: 'button',
        action_id: actionId,
        block_id: block?.block_id,
        value,
        text: { type: 'plain_text', text: actionId },
        action_ts: `${Date.now() / 1000}`,
      },
    ],
  });
  expect(result.statusCode).toBe(200);
  await bot.drain();
}

/**
 * Writes an owner's copies of the ownership projection as UserStore.put leaves them (one small item per user, under
 * `owner#<owner>`), 25 to a BatchWriteItem: 300 users through UserStore.put take some 600 serial moto calls. The App
 * Home reads exactly these items.
 */
async function seedOwnerCopies(owner: string, states: ProjectedState[]): Promise<void> {
  const { marshall } = dynamoose.aws.converter();
  const items = states.map((s) => ({
    pk: `owner#${owner}`,
    sk: `${s.account}#${s.userName.toLowerCase()}`,
    ...s,
  }));
  for (let i = 0; i < items.length; i += 25)
    await dynamoose.aws.ddb().batchWriteItem({
      RequestItems: {
        [`${bot.dynamo.tablePrefix}users`]: items
          .slice(i, i + 25)
          .map((item) => ({ PutRequest: { Item: marshall(item, { removeUndefinedValues: true }) } })),
      },
    });
}

const key = (id: string, createdAt: string, status: 'Active' | 'Inactive' = 'Active') => ({ id, status, createdAt });

describe('the App Home of an owner', () => {
  it('says so when the viewer owns no IAM user, and still explains how to ask for something', async () => {
    const blocks = await openHome('U0NOBODY');

    expect(textOf(blocks)).toContain('You own no IAM user I manage.');
    expect(textOf(blocks)).toContain('How to ask for something');
    expect(textOf(blocks)).toContain('/iam create-user');
    expect(textOf(blocks)).not.toContain('Waiting for your approval'); // not an approver
    expect(buttons(blocks)).toEqual([]);
  });

  it("shows one user's key with its age as a bar against the maximum, its status, last use, and Rotate now / Snooze 7 days for that key", async () => {
    await existingUser(bot, 'home-one', { owner: 'U0OWNERONE' });
    const made = await bot.deps.aws.account().iam.send(new CreateAccessKeyCommand({ UserName: 'home-one' }));
    const keyId = made.AccessKey?.AccessKeyId ?? '';
    await bot.schedule(); // the projection refresh reads it from IAM
    await bot.drain(); // the projection refresh parts it hands the worker
    const created = (await bot.deps.store.users.get('home', 'home-one'))?.keys[0]?.createdAt ?? '';
    bot.clock.set(new Date(Date.parse(created) + 85 * DAY + HOUR));

    const blocks = await openHome('U0OWNERONE');

    const text = textOf(blocks);
    expect(text).toContain('You own *1 IAM user*');
    expect(text).toContain('`home-one`');
    expect(text).toContain(`\`${keyId.slice(0, 4)}…${keyId.slice(-4)}\` active \`▓▓▓▓▓▓▓▓▓░ 85/90 d\``);
    expect(text).toContain(':warning: due soon');
    expect(text).toContain('never used');
    const shown = blocks.flatMap((b) => (b.type === 'actions' ? [] : [b.text?.text ?? ''])).join('\n');
    expect(shown).not.toContain(keyId); // masked where people read it; whole only in the buttons' value
    const value = JSON.stringify({ a: 'home', u: 'home-one', k: keyId });
    expect(buttons(blocks).map((b) => [b.action_id, b.value, b.text?.text])).toEqual([
      [KEY_ROTATE_NOW, value, 'Rotate now'],
      [KEY_SNOOZE, value, 'Snooze 7 days'],
    ]);
  });

  it('Snooze 7 days and Rotate now work from the tab: answers by DM (no response_url there), someone else is refused', async () => {
    await existingUser(bot, 'home-clicks', { owner: 'U0OWNERONE' });
    const made = await bot.deps.aws.account().iam.send(new CreateAccessKeyCommand({ UserName: 'home-clicks' }));
    const keyId = made.AccessKey?.AccessKeyId ?? '';
    await bot.schedule(); // the projection refresh reads it from IAM
    await bot.drain(); // the projection refresh parts it hands the worker
    const value = JSON.stringify({ a: 'home', u: 'home-clicks', k: keyId });
    const dmsBefore = dmsTo(bot, 'U0OWNERONE').length;

    // someone else's click on a value they copied: refused from stored state, told by DM, nothing stored
    await clickInHome('U0INTRUDER', await openHome('U0OWNERONE'), KEY_SNOOZE, value);
    expect(dmsTo(bot, 'U0INTRUDER').at(-1)).toContain('Only the owner of IAM user');
    expect(dmsTo(bot, 'U0OWNERONE')).toHaveLength(dmsBefore);

    await clickInHome('U0OWNERONE', homeOf('U0OWNERONE'), KEY_SNOOZE, value);
    expect(dmsTo(bot, 'U0OWNERONE').at(-1)).toContain('Snoozed: no reminder about this key of `home-clicks`');

    expect(await rotationStateOf(bot.deps, 'home', 'home-clicks')).toBeUndefined();
    await clickInHome('U0OWNERONE', homeOf('U0OWNERONE'), KEY_ROTATE_NOW, value);
    const rotation = await rotationStateOf(bot.deps, 'home', 'home-clicks');
    expect(rotation?.oldKeyId).toBe(keyId);
    const request = await bot.deps.store.requests.get(rotation?.requestId ?? '');
    expect(request).toMatchObject({ kind: 'rotate-key', requester: 'U0OWNERONE', recipient: 'U0OWNERONE' });
    expect(dmsTo(bot, 'U0OWNERONE').length).toBeGreaterThan(dmsBefore + 1); // the rotation's answer, by DM
  });

  it('shows 300 users within Slack limits: the first in full, worst keys first, the rest counted by band with a pointer to /iam users', async () => {
    const now = bot.clock.now().getTime();
    const ago = (days: number) => new Date(now - days * DAY - HOUR).toISOString();
    const states: ProjectedState[] = [];
    for (let i = 0; i < 300; i++) {
      // 5 overdue, 10 due soon, 280 fine, 5 with only an inactive key
      const age = i < 5 ? 120 : i < 15 ? 85 : 10;
      const state: ProjectedState = {
        account: 'home',
        userName: `bulk-${String(i).padStart(3, '0')}`,
        path: '/iam-slack-bot/',
        owner: 'U0MANY',
        groups: ['read-only'],
        console: false,
        keys: [key(`AKIABULK${String(i).padStart(12, '0')}`, ago(age), i >= 295 ? 'Inactive' : 'Active')],
        keysObservedAt: new Date(now).toISOString(),
        refreshedAt: new Date(now).toISOString(),
      };
      states.push(state);
    }
    await seedOwnerCopies('U0MANY', states);

    const blocks = await openHome('U0MANY');

    expect(blocks.length).toBeLessThanOrEqual(100);
    const text = textOf(blocks);
    expect(text).toContain('You own *300 IAM users* (keys: 5 overdue, 10 due soon)');
    expect(text).toContain('`bulk-000`'); // overdue: shown first
    expect(text).toContain('`bulk-014`'); // due soon: shown
    expect(text).toContain(`…and *${300 - HOME_USERS_SHOWN} more* (`);
    expect(text).toContain('275 fine'); // 280 fine, 5 of them shown
    expect(text).toContain('5 with no active key');
    expect(text).toContain('`/iam users` lists them all');
    expect(buttons(blocks).filter((b) => b.action_id === KEY_ROTATE_NOW)).toHaveLength(HOME_USERS_SHOWN);
    expect(text).toContain('How to ask for something'); // the help is never pushed out
  });
});

describe('the App Home of an approver', () => {
  it('lists the requests waiting for them with Approve / Deny, and Approve from the tab approves the request', async () => {
    const request = await requestUser(bot, 'home-approved', { justification: 'Builds the docs site' });

    const blocks = await openHome('U0APPROVER1');

    const text = textOf(blocks);
    expect(text).toContain('*Waiting for your approval* (1)');
    expect(text).toContain('IAM user `home-approved` in *home*');
    expect(text).toContain('>Builds the docs site');
    const mine = buttons(blocks).filter((b) => b.value === request.id);
    expect(mine.map((b) => b.action_id)).toEqual([REQUEST_APPROVE, REQUEST_DENY]);

    await clickInHome('U0APPROVER1', blocks, REQUEST_APPROVE, request.id);

    const after = await bot.deps.store.requests.get(request.id);
    expect(after?.approvals.map((a) => a.user)).toEqual(['U0APPROVER1']);
    expect(after?.status).toBe('done');
    // The approver's tab was published again without the request.
    expect(textOf(homeOf('U0APPROVER1'))).not.toContain('home-approved');
  });

  it('shows the requester no Approve for their own request, and refuses one clicked from the tab', async () => {
    const request = await requestUser(bot, 'home-own', {}, 'U0APPROVER2');

    const own = await openHome('U0APPROVER2');
    const other = await openHome('U0APPROVER3');

    expect(textOf(own)).not.toContain('home-own');
    expect(buttons(own).some((b) => b.value === request.id)).toBe(false);
    expect(buttons(other).filter((b) => b.value === request.id)).toHaveLength(2);

    // A stale or forged tab: the click is decided from the stored request.
    await clickInHome('U0APPROVER2', other, REQUEST_APPROVE, request.id);

    const after = await bot.deps.store.requests.get(request.id);
    expect(after?.status).toBe('pending');
    expect(after?.approvals).toEqual([]);
    expect(dmsTo(bot, 'U0APPROVER2').join()).toContain('You asked for this request, so you cannot approve it');
  });

  it('opens the reason form when Deny is clicked in the tab', async () => {
    const request = await requestUser(bot, 'home-denied');
    const blocks = await openHome('U0APPROVER3');
    const opened = bot.slack.callsOf('views.open').length;

    await clickInHome('U0APPROVER3', blocks, REQUEST_DENY, request.id);

    const open = bot.slack.callsOf('views.open').slice(opened);
    expect(open).toHaveLength(1);
    expect((open[0]?.args.view as { callback_id?: string } | undefined)?.callback_id).toBe(DENY_REASON_MODAL);
  });

  it("shows a group's own approver the requests for that group only", async () => {
    await requestUser(bot, 'home-billing', { groups: ['billing-viewers'] });

    const text = textOf(await openHome('U0FINANCE1'));

    expect(text).toContain('`home-billing`');
    expect(text).not.toContain('`home-denied`'); // ci-deployers: the global approvers'
  });

  it("shows a kind's own approver the requests of that kind, and the global approvers not", async () => {
    const { result } = await bot.command('rotate-key home-one', 'U0REQUESTER'); // not its owner: needs approval
    expect(result.statusCode).toBe(200);
    await bot.drain();

    const keys = await openHome('U0KEYS');
    const global = await openHome('U0APPROVER1');

    expect(textOf(keys)).toContain('*rotate-key* IAM user `home-one`');
    expect(buttons(keys).map((b) => b.action_id)).toContain(REQUEST_APPROVE);
    expect(textOf(global)).not.toContain('*rotate-key*');
  });

  it('shows a member of an approver user group the requests waiting', async () => {
    const text = textOf(await openHome('U0SECMEMBER'));

    expect(text).toContain('*Waiting for your approval*');
    expect(text).toContain('`home-denied`');
  });
});

describe('refreshing the App Home', () => {
  it("republishes the approvers' tab when a request is posted, and the new owner's tab once the bot made their user", async () => {
    const before = bot.slack.callsOf('views.publish').length;

    const request = await requestUser(bot, 'home-refresh', { recipient: 'U0NEWOWNER' });
    const posted = bot.slack.callsOf('views.publish').slice(before);
    expect(posted.map((c) => c.args.user_id)).toEqual(
      expect.arrayContaining(['U0APPROVER1', 'U0APPROVER2', 'U0APPROVER3', 'U0SECMEMBER']),
    );
    expect(posted.map((c) => c.args.user_id)).not.toContain('U0NEWOWNER');
    expect(textOf(homeOf('U0APPROVER1'))).toContain('`home-refresh`');

    await bot.clickButton({ userId: 'U0APPROVER1', actionId: REQUEST_APPROVE, value: request.id });
    await bot.drain();

    expect(textOf(homeOf('U0NEWOWNER'))).toContain('`home-refresh`'); // published without opening the tab
    expect(textOf(homeOf('U0APPROVER2'))).not.toContain('`home-refresh`');
  });

  it('publishes once per cause, however often the refresh is handed over', async () => {
    const count = () => bot.slack.callsOf('views.publish').filter((c) => c.args.user_id === 'U0APPROVER1').length;
    const before = count();

    await bot.as('worker', () => refreshHomes(bot.deps, ['U0APPROVER1', 'U0APPROVER1'], 'test:once'));
    await bot.as('worker', () => refreshHomes(bot.deps, ['U0APPROVER1'], 'test:once'));
    await bot.drain();

    expect(count()).toBe(before + 1);
  });
});
