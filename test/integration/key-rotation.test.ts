/**
 * `/iam rotate-key`: a new key by one-time link, the old key retired after a grace period, reactivation once,
 * deletion after the recovery period; the refusals that keep the wrong key untouched. Signed requests, moto, the
 * injected clock and the role checker.
 */
import { createHash } from 'node:crypto';
import {
  CreateAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROTATION_DELETE_FIRST, ROTATION_REACTIVATE, ROTATION_SWITCHED } from '../../src/blocks/ids.js';
import { keyRotateNowJob } from '../../src/jobs/key-reminders.js';
import { rotationStateOf } from '../../src/kinds/rotate-key/rotation.js';
import { provisionJob } from '../../src/services/requests.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { existingUser } from '../support/changes.js';
import { auditActions, click, dmsTo, repliesTo } from '../support/create-user.js';
import { linkSentTo, requestPage } from '../support/credentials.js';
import { callsBeforeAnswer } from '../support/network-calls.js';
import { testPolicy } from '../support/policy.js';

const DAY = 86_400_000;
let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot({
    policy: testPolicy({ keys: { rotationGraceDays: 7, recoveryDays: 7 } }),
    members: ['U0OWNER3'], // an owner who gets the new key of a rotation someone else asked for
  });
});
afterAll(async () => {
  await bot.stop();
});

let seq = 0;
const nextName = (what: string) => `${what}-${++seq}`;
const iam = () => bot.deps.aws.account().iam;

/** The user's keys in moto: id -> status. */
async function keysOf(userName: string): Promise<Record<string, string>> {
  const out = await iam().send(new ListAccessKeysCommand({ UserName: userName }));
  return Object.fromEntries((out.AccessKeyMetadata ?? []).map((k) => [k.AccessKeyId ?? '', k.Status ?? '']));
}

/** An IAM user owned by `owner` with keys made outside the bot (`false`: made inactive). */
async function userWithKeys(userName: string, owner: string, active: boolean[]): Promise<string[]> {
  await existingUser(bot, userName, { owner });
  const ids: string[] = [];
  for (const on of active) {
    const out = await iam().send(new CreateAccessKeyCommand({ UserName: userName }));
    const id = out.AccessKey?.AccessKeyId ?? '';
    if (!on) await iam().send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: id, Status: 'Inactive' }));
    ids.push(id);
  }
  return ids;
}

/**
 * A command and the last answer shown under it once the worker is done: `/iam rotate-key` is acked with no message
 * and answered by the worker through its response_url, after it asked IAM (issue 19): its answer is the last one shown;
 * a command answered in its ack (a refusal, `/iam reissue`) returns the ack's.
 */
async function command(text: string, userId: string) {
  const { result, responseId } = await bot.command(text, userId);
  expect(result.statusCode).toBe(200);
  await bot.drain();
  const answer = result.body ? JSON.parse(result.body) : bot.slack.shown(responseId).at(-1);
  return (answer ?? {}) as {
    text?: string;
    blocks?: { elements?: { value?: string; action_id?: string }[] }[];
  };
}

async function rotationOf(userName: string): Promise<AccessRequest> {
  const view = await rotationStateOf(bot.deps, 'home', userName);
  expect(view, `a rotation of ${userName}`).toBeDefined();
  return (await bot.deps.store.requests.get(view?.requestId ?? '')) as AccessRequest;
}

async function openLink(userId: string) {
  const { token } = linkSentTo(bot, userId);
  const page = await requestPage(bot, 'POST', token);
  expect(page.statusCode).toBe(200);
  return createHash('sha256').update(token).digest('hex');
}

async function press(actionId: string, request: AccessRequest, userId: string) {
  const { result } = await bot.clickButton({
    userId,
    actionId,
    value: request.id,
    message: { channel: userId, ts: '1.2' },
  });
  expect(result.statusCode).toBe(200);
  await bot.drain();
}

describe('a full rotation by the owner, walked through with the clock', () => {
  it('shows where the rotation stands in `/iam user`, with both keys, from the moment the new key is out', async () => {
    const name = nextName('shown');
    const [oldKey] = await userWithKeys(name, 'U0OWNER', [true]);

    await command(`rotate-key ${name}`, 'U0OWNER');
    await openLink('U0OWNER');
    const during = await bot.command(`user ${name}`, 'U0SOMEONE');
    bot.clock.advance(7 * DAY + 60_000);
    await bot.schedule();
    await bot.drain(); // the worker runs what the sweep woke
    const after = await bot.command(`user ${name}`, 'U0SOMEONE');

    const text = (r: { result: { body?: string } }) => JSON.stringify(JSON.parse(r.result.body || '{}'));
    expect(text(during)).toContain('delivered; old key');
    expect(text(during)).toContain('stays active until');
    expect((await bot.deps.store.users.get('home', name))?.keys).toHaveLength(2);
    expect(text(after)).toContain(`old key \`${(oldKey as string).slice(0, 4)}`);
    expect(text(after)).toContain('inactive; deleted');
  });

  it('shows the owner their users and the rotation under way in the App Home', async () => {
    const name = nextName('home');
    await userWithKeys(name, 'U0OWNER', [true]);
    await command(`rotate-key ${name}`, 'U0OWNER');
    await openLink('U0OWNER');

    await bot.send(
      JSON.stringify({
        type: 'event_callback',
        team_id: 'T0TEAM',
        api_app_id: 'A0APP',
        event_id: `Ev0HOME${name}`,
        event_time: 1_700_000_000,
        event: {
          type: 'app_home_opened',
          user: 'U0OWNER',
          channel: 'D0HOME',
          tab: 'home',
          event_ts: `1.${name.length}`,
        },
      }),
      { contentType: 'application/json' },
    );
    await bot.drain();

    const view = JSON.stringify(bot.slack.callsOf('views.publish').at(-1)?.args ?? {});
    expect(view).toContain('"user_id":"U0OWNER"');
    expect(view).toContain(name);
    expect(view).toContain('Key rotations under way');
    expect(view).toContain('new key delivered; old key');
  });

  it('delivers the new key, keeps the old one active for the grace period, deactivates, reactivates once, deactivates again and deletes it', async () => {
    const name = nextName('rotated');
    const [oldKey] = await userWithKeys(name, 'U0OWNER', [true]);
    const atMostTwo: number[] = [];
    const check = async () => atMostTwo.push(Object.keys(await keysOf(name)).length);

    const answer = await command(`rotate-key ${name}`, 'U0OWNER');
    const rotation = await rotationOf(name);
    const newKey = rotation.rotation?.newKeyId ?? '';
    expect(answer.text).toContain('needs no approval');
    expect(newKey).toMatch(/^[A-Z0-9]{16,}$/);
    expect(await keysOf(name)).toEqual({ [oldKey as string]: 'Active', [newKey]: 'Active' });
    expect(dmsTo(bot, 'U0OWNER').join()).toContain(ROTATION_SWITCHED);
    await openLink('U0OWNER');
    await check();

    bot.clock.advance(6 * DAY);
    await bot.schedule();
    await bot.drain(); // the worker runs what the sweep woke
    expect((await keysOf(name))[oldKey as string]).toBe('Active'); // still in the grace period
    await check();

    bot.clock.advance(1 * DAY + 60_000);
    await bot.schedule();
    await bot.drain(); // the worker runs what the sweep woke
    expect(await keysOf(name)).toEqual({ [oldKey as string]: 'Inactive', [newKey]: 'Active' });
    expect(dmsTo(bot, 'U0OWNER').join()).toContain(ROTATION_REACTIVATE);

    await press(ROTATION_REACTIVATE, rotation, 'U0OWNER');
    expect(await keysOf(name)).toEqual({ [oldKey as string]: 'Active', [newKey]: 'Active' });
    await press(ROTATION_REACTIVATE, rotation, 'U0OWNER'); // once only
    expect((await keysOf(name))[oldKey as string]).toBe('Active');
    await check();

    bot.clock.advance(7 * DAY + 60_000);
    await bot.schedule();
    await bot.drain(); // the worker runs what the sweep woke
    expect(await keysOf(name)).toEqual({ [oldKey as string]: 'Inactive', [newKey]: 'Active' });
    await press(ROTATION_REACTIVATE, rotation, 'U0OWNER'); // reactivated once already: refused
    expect((await keysOf(name))[oldKey as string]).toBe('Inactive');

    bot.clock.advance(7 * DAY + 60_000);
    await bot.schedule();
    await bot.drain(); // the worker runs what the sweep woke
    expect(await keysOf(name)).toEqual({ [newKey]: 'Active' });
    expect(dmsTo(bot, 'U0OWNER').at(-1)).toContain('is deleted');
    expect(Math.max(...atMostTwo)).toBeLessThanOrEqual(2);
    expect((await rotationStateOf(bot.deps, 'home', name))?.phase).toBe('deleted');
    expect(await auditActions(bot, rotation.id)).toEqual([
      'requested',
      'allowed-at-once', // the worker's check found the requester owns the user (issue 19: checked after the answer)
      // The delivery on the resumable runner: each step audited with its checkpoint.
      'provisioning-started',
      'notified', // tell-start: the approval message
      'step-decided', // check: today's policy and IAM
      'step-done', // new-key: minted, stored, DMed
      'rotation.key-delivered', // the commit: the grace period starts
      'notified', // tell-end: the approval message
      'notified', // tell-owner: "new key delivered"
      // The life on the same run: each wait step's decision, IAM step and DM audited with its checkpoint.
      'rotation.deactivating', // grace: the grace period is over
      'rotation.old-key-deactivated', // deactivate
      'notified', // tell: deactivated (Reactivate button)
      'rotation.reactivate', // the owner's click: a signal to the run
      'step-done', // recovery: woken by the signal
      'rotation.old-key-reactivated', // reactivate
      'notified', // tell: reactivated
      'rotation.deactivating', // grace: the new grace period is over
      'rotation.old-key-deactivated', // deactivate
      'notified', // tell: deactivated
      'rotation.deleting', // recovery: the recovery period is over
      'rotation.old-key-deleted', // delete
      'notified', // tell: deleted
    ]);
  });

  it("deactivates the old key at once when the owner says they've switched, and not before the new link is opened", async () => {
    const name = nextName('switched');
    const [oldKey] = await userWithKeys(name, 'U0OWNER2', [true]);
    await command(`rotate-key ${name} ${oldKey}`, 'U0OWNER2');
    const rotation = await rotationOf(name);

    await press(ROTATION_SWITCHED, rotation, 'U0OWNER2'); // link not opened yet
    expect((await keysOf(name))[oldKey as string]).toBe('Active');
    await openLink('U0OWNER2');
    await press(ROTATION_SWITCHED, rotation, 'U0SOMEONE'); // not the owner
    expect((await keysOf(name))[oldKey as string]).toBe('Active');
    const calls = await callsBeforeAnswer(bot, () =>
      bot.clickButton({ userId: 'U0OWNER2', actionId: ROTATION_SWITCHED, value: rotation.id }),
    );
    // before the answer: the rotation (which records the opening: no link read), one transactional write; the
    // worker deactivates
    expect(calls.aws).toEqual(['dynamodb:GetItem', 'dynamodb:TransactWriteItems']);
    expect(calls.handOffs).toEqual(['run-part']); // the signal woke the rotation's run
    expect((await keysOf(name))[oldKey as string]).toBe('Inactive');
    expect((await keysOf(name))[rotation.rotation?.newKeyId ?? '']).toBe('Active');
  });
});

describe('which key, and room for the new one', () => {
  it('offers the inactive key for deletion first, and rotates once the button is pressed', async () => {
    const name = nextName('inactive');
    const [inactive, active] = await userWithKeys(name, 'U0OWNER', [false, true]);

    const answer = await command(`rotate-key ${name} ${active}`, 'U0OWNER');
    expect(await keysOf(name)).toEqual({ [inactive as string]: 'Inactive', [active as string]: 'Active' });
    const button = answer.blocks?.flatMap((b) => b.elements ?? []).find((e) => e.action_id === ROTATION_DELETE_FIRST);
    expect(answer.text).toContain(`\`${inactive}\` (inactive)`);
    expect(button?.value).toBeDefined();

    const { result } = await bot.clickButton({
      userId: 'U0OWNER',
      actionId: ROTATION_DELETE_FIRST,
      value: button?.value ?? '',
      message: { channel: 'C0WORK', ts: '1.3' },
    });
    expect(result.statusCode).toBe(200);
    await bot.drain();
    const rotation = await rotationOf(name);
    const keys = await keysOf(name);
    expect(keys).toEqual({ [active as string]: 'Active', [rotation.rotation?.newKeyId ?? '']: 'Active' });
    expect(keys[inactive as string]).toBeUndefined();
  });

  it('refuses two active keys, saying which one to retire, and changes nothing', async () => {
    const name = nextName('two-active');
    const [first, second] = await userWithKeys(name, 'U0OWNER', [true, true]);
    const answer = await command(`rotate-key ${name} ${first}`, 'U0OWNER');
    expect(answer.text).toContain(`Retire \`${second}\` first`);
    expect(await keysOf(name)).toEqual({ [first as string]: 'Active', [second as string]: 'Active' });
    expect(await rotationStateOf(bot.deps, 'home', name)).toBeUndefined();
  });

  it('refuses a key of another user, and asks which key when the user has two active keys and none is named', async () => {
    const name = nextName('mine');
    const other = nextName('theirs');
    const [mine] = await userWithKeys(name, 'U0OWNER', [true]);
    const [theirs] = await userWithKeys(other, 'U0OWNER', [true]);
    const answer = await command(`rotate-key ${name} ${theirs}`, 'U0OWNER');
    expect(answer.text).toContain(`\`${theirs}\` is not an access key of IAM user \`${name}\``);
    expect(await keysOf(name)).toEqual({ [mine as string]: 'Active' });
    expect(await keysOf(other)).toEqual({ [theirs as string]: 'Active' });

    const two = nextName('two');
    await userWithKeys(two, 'U0OWNER', [true, true]);
    expect((await command(`rotate-key ${two}`, 'U0OWNER')).text).toContain('name the one to rotate');
  });

  it('takes the active key when none is named and the other is inactive, offering to delete the inactive one first', async () => {
    const name = nextName('implied');
    const [inactive, active] = await userWithKeys(name, 'U0OWNER', [false, true]);

    const answer = await command(`rotate-key ${name}`, 'U0OWNER');
    const button = answer.blocks?.flatMap((b) => b.elements ?? []).find((e) => e.action_id === ROTATION_DELETE_FIRST);
    await bot.clickButton({
      userId: 'U0OWNER',
      actionId: ROTATION_DELETE_FIRST,
      value: button?.value ?? '',
      message: { channel: 'C0WORK', ts: '1.4' },
    });
    await bot.drain();

    expect(answer.text).toContain(`\`${active}\` (active, the one to rotate)`);
    expect(answer.text).toContain(`first delete the inactive key \`${inactive}\``);
    const rotation = await rotationOf(name);
    expect(rotation.rotation?.oldKeyId).toBe(active);
    expect(await keysOf(name)).toEqual({
      [active as string]: 'Active',
      [rotation.rotation?.newKeyId ?? '']: 'Active',
    });
  });

  it("sends someone else's rotation through approval; the new key goes to the owner", async () => {
    const name = nextName('approved');
    const [oldKey] = await userWithKeys(name, 'U0OWNER3', [true]);
    const { result, responseId } = await bot.command(`rotate-key ${name}`, 'U0REQUESTER');
    await bot.drain();
    const pending = await rotationOf(name);
    // acked with no message; the worker's one answer under the command, once the rotation is posted (issue 19)
    expect(result.body ?? '').toBe('');
    expect(repliesTo(bot, responseId)).toEqual([
      `Your rotation \`${pending.id}\` of access key \`${oldKey}\` of \`${name}\` is waiting for approval in <#C0APPROVALS>. The new key goes to <@U0OWNER3>.`,
    ]);
    expect(pending.status).toBe('pending');
    expect(await keysOf(name)).toEqual({ [oldKey as string]: 'Active' });

    await click(bot, (await bot.deps.store.requests.get(pending.id)) as AccessRequest, 'U0APPROVER1');
    await bot.drain();
    const done = await rotationOf(name);
    expect(done.status).toBe('done');
    expect(Object.keys(await keysOf(name))).toHaveLength(2);
    expect(() => linkSentTo(bot, 'U0OWNER3')).not.toThrow();
  });
});

describe('the checks after the answer (issue 19)', () => {
  it('tells the requester, under the command, that a user outside the managed paths is refused, and ends the rotation unposted', async () => {
    // Prepare: a user with a key, under a path the bot does not manage
    const name = nextName('unmanaged');
    await existingUser(bot, name, { owner: 'U0OWNER', path: '/someone-else/' });
    const key = (await iam().send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey?.AccessKeyId ?? '';
    const posts = bot.slack.callsOf('chat.postMessage').length;

    // Act
    const { result, responseId } = await bot.command(`rotate-key ${name}`, 'U0OWNER');
    await bot.drain();

    // Assess: acked with no message, the worker's one answer is the refusal; nothing posted or changed
    expect(result.body ?? '').toBe('');
    expect(repliesTo(bot, responseId)).toEqual([
      `I can't rotate that key:\n• IAM user \`${name}\` is at path \`/someone-else/\`, outside the paths the bot manages.`,
    ]);
    expect(bot.slack.callsOf('chat.postMessage').slice(posts)).toEqual([]);
    expect(await keysOf(name)).toEqual({ [key]: 'Active' });
    const [ended] = (await bot.deps.store.requests.model.scan().exec()).filter((r) => r.userName === name);
    expect(ended?.status).toBe('expired');
    expect(await auditActions(bot, ended?.id ?? '')).toEqual(['requested', 'not-posted']);
    expect(await rotationStateOf(bot.deps, 'home', name)).toBeUndefined();
  });

  it('tells the requester when there is no such user, and a later rotation of that name is not held up by it', async () => {
    // Prepare
    const name = nextName('not-yet');

    // Act: rotate before the user exists, then create it with a key and rotate again
    const refused = await command(`rotate-key ${name}`, 'U0OWNER');
    const [key] = await userWithKeys(name, 'U0OWNER', [true]);
    const started = await command(`rotate-key ${name}`, 'U0OWNER');

    // Assess
    expect(refused.text).toBe(`I can't rotate that key:\n• There is no IAM user \`${name}\` in home (123456789012).`);
    expect(started.text).toContain('needs no approval');
    const rotation = await rotationOf(name);
    expect(rotation.rotation?.oldKeyId).toBe(key);
    expect(Object.keys(await keysOf(name))).toHaveLength(2);
  });
});

describe('an old key still in use', () => {
  it('waits one more grace period and tells the owner when, where and by what it was used', async () => {
    const name = nextName('in-use');
    const [oldKey] = await userWithKeys(name, 'U0OWNER4', [true]);
    await command(`rotate-key ${name}`, 'U0OWNER4');
    await openLink('U0OWNER4');
    const usedAt = new Date(bot.clock.now().getTime() + 2 * DAY);
    // STUB: moto cannot record a key's use, so GetAccessKeyLastUsed answers a use after delivery; all else is moto.
    const client = iam();
    const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
    (client as { send: unknown }).send = async (command: unknown) =>
      command instanceof GetAccessKeyLastUsedCommand
        ? { UserName: name, AccessKeyLastUsed: { LastUsedDate: usedAt, ServiceName: 's3', Region: 'eu-west-1' } }
        : send(command);
    try {
      bot.clock.advance(7 * DAY + 60_000);
      await bot.schedule();
      await bot.drain(); // the worker runs what the sweep woke
      expect((await keysOf(name))[oldKey as string]).toBe('Active');
      const told = dmsTo(bot, 'U0OWNER4').at(-1) ?? '';
      expect(told).toContain('`s3`');
      expect(told).toContain('`eu-west-1`');
      expect(told).toContain(String(Math.floor(usedAt.getTime() / 1000)));

      bot.clock.advance(6 * DAY);
      await bot.schedule();
      await bot.drain(); // the worker runs what the sweep woke
      expect((await keysOf(name))[oldKey as string]).toBe('Active');
      bot.clock.advance(1 * DAY + 60_000);
      await bot.schedule();
      await bot.drain(); // the worker runs what the sweep woke
      expect((await keysOf(name))[oldKey as string]).toBe('Inactive');
    } finally {
      (client as { send: unknown }).send = send;
    }
  });
});

describe('a new key nobody received', () => {
  it('is deactivated and deleted once its link expires unopened; the old key is untouched', async () => {
    const name = nextName('unopened');
    const [oldKey] = await userWithKeys(name, 'U0OWNER5', [true]);
    await command(`rotate-key ${name}`, 'U0OWNER5');
    expect(Object.keys(await keysOf(name))).toHaveLength(2);

    bot.clock.advance(25 * 3_600_000);
    await bot.schedule();
    await bot.drain(); // the worker runs what the sweep woke
    expect(await keysOf(name)).toEqual({ [oldKey as string]: 'Active' });
    expect((await rotationStateOf(bot.deps, 'home', name))?.phase).toBe('cancelled');
    expect(dmsTo(bot, 'U0OWNER5').at(-1)).toContain('untouched');
  });
});

describe('the scheduled job, run again and overlapping', () => {
  it('has no second effect when run twice in a row or twice at once', async () => {
    const name = nextName('overlap');
    const [oldKey] = await userWithKeys(name, 'U0OWNER6', [true]);
    await command(`rotate-key ${name}`, 'U0OWNER6');
    await openLink('U0OWNER6');
    const rotation = await rotationOf(name);

    bot.clock.advance(7 * DAY + 60_000);
    const dmsBefore = dmsTo(bot, 'U0OWNER6').length;
    await Promise.all([bot.schedule(), bot.schedule()]);
    await bot.drain();
    await bot.schedule();
    await bot.drain(); // the worker runs what the sweep woke
    expect((await keysOf(name))[oldKey as string]).toBe('Inactive');
    expect(dmsTo(bot, 'U0OWNER6').length).toBe(dmsBefore + 1);
    const afterDeactivation = await auditActions(bot, rotation.id);
    expect(afterDeactivation.filter((a) => a === 'rotation.old-key-deactivated')).toHaveLength(1);

    bot.clock.advance(7 * DAY + 60_000);
    await Promise.all([bot.schedule(), bot.schedule()]);
    await bot.drain();
    await bot.schedule();
    await bot.drain(); // the worker runs what the sweep woke
    expect(Object.keys(await keysOf(name))).toEqual([rotation.rotation?.newKeyId]);
    expect((await auditActions(bot, rotation.id)).filter((a) => a === 'rotation.old-key-deleted')).toHaveLength(1);
    expect(dmsTo(bot, 'U0OWNER6').length).toBe(dmsBefore + 2);
  });
});

describe('/iam reissue', () => {
  it('replaces a new key whose link was lost with a fresh key and link; the old key and the rotation go on', async () => {
    const name = nextName('lost-link');
    const [oldKey] = await userWithKeys(name, 'U0OWNER7', [true]);
    await command(`rotate-key ${name}`, 'U0OWNER7');
    const rotation = await rotationOf(name);
    const lostKey = rotation.rotation?.newKeyId ?? '';
    const lost = linkSentTo(bot, 'U0OWNER7');

    expect((await command(`reissue ${rotation.id}`, 'U0OWNER7')).text).toContain('approver');
    await command(`reissue ${rotation.id}`, 'U0APPROVER1'); // the worker runs the reissue's steps on the run

    const fresh = (await rotationOf(name)).rotation?.newKeyId ?? '';
    expect(fresh).not.toBe(lostKey);
    expect(await keysOf(name)).toEqual({ [oldKey as string]: 'Active', [fresh]: 'Active' });
    expect(linkSentTo(bot, 'U0OWNER7').token).not.toBe(lost.token);
    expect((await requestPage(bot, 'GET', lost.token)).body).toContain('/iam reissue');
    await openLink('U0OWNER7');
    expect((await command(`reissue ${rotation.id}`, 'U0APPROVER1')).text).toContain('was opened');
  });
});

describe('/iam reissue of a cancelled rotation', () => {
  it('starts the grace period again on the rotation’s run: the new link opened, the old key deactivated when it ends', async () => {
    // Prepare: the first link expired unopened, so the rotation was cancelled (its new key deleted).
    const name = nextName('reissued-cancelled');
    const [oldKey] = await userWithKeys(name, 'U0OWNER8', [true]);
    await command(`rotate-key ${name}`, 'U0OWNER8');
    const rotation = await rotationOf(name);
    bot.clock.advance(7 * DAY + 60_000);
    await bot.schedule();
    await bot.drain();
    expect((await rotationStateOf(bot.deps, 'home', name))?.phase).toBe('cancelled');

    // Act: an approver reissues it; the owner opens the new link; the schedule runs through the new grace period.
    await command(`reissue ${rotation.id}`, 'U0APPROVER1');
    await openLink('U0OWNER8');
    const fresh = (await rotationOf(name)).rotation?.newKeyId ?? '';
    bot.clock.advance(16 * 60_000);
    await bot.schedule(); // the rotation's life continues on its run (adopt-phase-rotations)
    await bot.drain();
    bot.clock.advance(7 * DAY + 60_000);
    await bot.schedule();
    await bot.drain();

    // Assess
    expect(await keysOf(name)).toEqual({ [oldKey as string]: 'Inactive', [fresh]: 'Active' });
    expect((await rotationStateOf(bot.deps, 'home', name))?.phase).toBe('deactivated');
    expect(await auditActions(bot, rotation.id)).toEqual(
      expect.arrayContaining(['rotation.cancelled', 'reissued', 'rotation.continued', 'rotation.old-key-deactivated']),
    );
  });
});

describe('/iam reissue <iam-user>', () => {
  it('finds the newest request that sent the user credentials, and refuses a name it knows no delivery of', async () => {
    const name = nextName('lost-by-name');
    await userWithKeys(name, 'U0OWNER9', [true]);
    await command(`rotate-key ${name}`, 'U0OWNER9');
    const rotation = await rotationOf(name);

    const byName = await command(`reissue ${name}`, 'U0APPROVER1');
    const unknown = await command('reissue nobody-knows-me', 'U0APPROVER1');

    expect(byName.text).toContain(`Replacing the undelivered credentials of \`${rotation.id}\``);
    expect(unknown.text).toContain('I know no request that sent credentials for `nobody-knows-me`');
  });
});

describe('a worker that stopped after delivering the new key', () => {
  it('is finished by a retry without a second key or a second link', async () => {
    const name = nextName('resumed');
    const [oldKey] = await userWithKeys(name, 'U0OWNER8', [true]);
    await command(`rotate-key ${name}`, 'U0OWNER8');
    const delivered = await rotationOf(name);
    const newKey = delivered.rotation?.newKeyId ?? '';
    const links = dmsTo(bot, 'U0OWNER8').filter((m) => m.includes('/credentials/')).length;
    // As if the worker had stopped right after the DM: the request still provisioning, then retried (attempt 2).
    const stopped = await bot.deps.store.requests.update(
      delivered,
      { status: 'provisioning', attempt: 2, rotation: { oldKeyId: oldKey as string, newKeyId: newKey } },
      bot.clock.now(),
      ['linkId'],
    );
    expect(stopped).toBeDefined();

    await bot.runJob(provisionJob({ id: delivered.id, attempt: 2 }));

    const resumed = await rotationOf(name);
    expect(resumed.status).toBe('done');
    expect(resumed.linkId).toBe(delivered.linkId);
    expect(await keysOf(name)).toEqual({ [oldKey as string]: 'Active', [newKey]: 'Active' });
    expect(dmsTo(bot, 'U0OWNER8').filter((m) => m.includes('/credentials/'))).toHaveLength(links);
  });
});

describe('one rotation of a user at a time', () => {
  it('starts a new rotation once the earlier one has ended, by the command or by Rotate now, and makes one of two at once', {
    timeout: 120_000,
  }, async () => {
    // (two rotations run to their cancellation first: longer than the usual 30 s on a loaded machine)
    // Prepare: two users whose rotations ended (their new keys' links expired unopened: cancelled)
    const [raced, again] = [nextName('raced'), nextName('again')];
    const [racedKey] = await userWithKeys(raced, 'U0OWNER6', [true]);
    const [againKey] = await userWithKeys(again, 'U0OWNER6', [true]);
    await command(`rotate-key ${raced}`, 'U0OWNER6');
    await command(`rotate-key ${again}`, 'U0OWNER6');
    const ended = [await rotationOf(raced), await rotationOf(again)];
    bot.clock.advance(25 * 3_600_000);
    await bot.schedule();
    await bot.drain();
    for (const name of [raced, again]) expect((await rotationOf(name)).rotation?.phase).toBe('cancelled');

    // Act: two commands at once for one user; the key reminder's Rotate now (the worker) for the other
    const [one, two] = await Promise.all([
      bot.command(`rotate-key ${raced}`, 'U0OWNER6'),
      bot.command(`rotate-key ${raced}`, 'U0SOMEONE'),
    ]);
    await bot.drain();
    const channel = bot.deps.config.policy.approvals.channel;
    await bot.as('worker', () =>
      keyRotateNowJob(bot.deps, { account: 'home', userName: again, keyId: againKey, requester: 'U0OWNER6', channel }),
    );
    await bot.drain();

    // Assess: one new rotation of each user, the earlier ones left as they ended
    const rotations = async (name: string) =>
      (await bot.deps.store.requests.model.scan().exec()).filter((r) => r.userName === name && r.kind === 'rotate-key');
    expect(await rotations(raced)).toHaveLength(2);
    expect(await rotations(again)).toHaveLength(2);
    const [racedNow, againNow] = [await rotationOf(raced), await rotationOf(again)];
    expect(racedNow.id).not.toBe(ended[0]?.id);
    expect(racedNow.rotation?.oldKeyId).toBe(racedKey);
    expect(againNow.id).not.toBe(ended[1]?.id);
    expect(againNow.rotation?.oldKeyId).toBe(againKey);
    expect(dmsTo(bot, 'U0OWNER6').at(-1)).toContain(againNow.id);
    const refused = [one, two].map((c) => c.result.body ?? '').filter((b) => b.includes('rotation'));
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(/started just now|is under way/);
  });
});
