/**
 * Key rotation decided from durable facts, never stuck: what real AWS does that moto does not (DynamoDB's TTL
 * deleting link items, a key or user deleted in the console, a worker killed between two calls), and the same
 * failure handling as create-user. A grace period of 40 days: longer than a link item lives after its expiry
 * (30 days, then DynamoDB's TTL may delete it). Signed requests, moto, the injected clock and the role checker.
 */
import { createHash } from 'node:crypto';
import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROTATION_SWITCHED } from '../../src/blocks/ids.js';
import type { Config } from '../../src/config.js';
import type { Job } from '../../src/jobs/types.js';
import { LEASE_MS, runJob } from '../../src/jobs/worker.js';
import { rotationStateOf } from '../../src/kinds/rotate-key/rotation.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { existingUser } from '../support/changes.js';
import { APPROVALS, auditActions, click, dmsTo } from '../support/create-user.js';
import { linkSentTo, notMeClick, requestPage } from '../support/credentials.js';
import { testPolicy } from '../support/policy.js';

const DAY = 86_400_000;
const GRACE_DAYS = 40;
let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot({ policy: testPolicy({ keys: { rotationGraceDays: GRACE_DAYS, recoveryDays: 7 } }) });
});
afterAll(async () => {
  await bot.stop();
});

let seq = 0;
const nextName = (what: string) => `${what}-${++seq}`;
const iam = () => bot.deps.aws.account().iam;

async function keysOf(userName: string): Promise<Record<string, string>> {
  const out = await iam().send(new ListAccessKeysCommand({ UserName: userName }));
  return Object.fromEntries((out.AccessKeyMetadata ?? []).map((k) => [k.AccessKeyId ?? '', k.Status ?? '']));
}

/** An IAM user owned by `owner` with one active key made outside the bot; returns that key's id. */
async function userWithKey(userName: string, owner: string, path?: string): Promise<string> {
  await existingUser(bot, userName, { owner, ...(path ? { path } : {}) });
  const out = await iam().send(new CreateAccessKeyCommand({ UserName: userName }));
  return out.AccessKey?.AccessKeyId ?? '';
}

/**
 * A command and its answer once the worker is done: the ack's, or (`/iam rotate-key`, acked with no message and
 * answered by the worker after it asked IAM, issue 19) the last one shown under it.
 */
async function command(text: string, userId: string): Promise<string> {
  const { result, responseId } = await bot.command(text, userId);
  expect(result.statusCode).toBe(200);
  await bot.drain();
  if (result.body) return String((JSON.parse(result.body) as { text?: string }).text ?? '');
  return bot.slack.shown(responseId).at(-1)?.text ?? '';
}

async function rotationOf(userName: string): Promise<AccessRequest> {
  const view = await rotationStateOf(bot.deps, 'home', userName);
  expect(view, `a rotation of ${userName}`).toBeDefined();
  return (await bot.deps.store.requests.get(view?.requestId ?? '')) as AccessRequest;
}

/** The hash of the newest link DMed to `userId` (the link item's key). */
const linkHashOf = (userId: string) => createHash('sha256').update(linkSentTo(bot, userId).token).digest('hex');

async function openLink(userId: string) {
  const page = await requestPage(bot, 'POST', linkSentTo(bot, userId).token);
  expect(page.statusCode).toBe(200);
}

/**
 * Deletes every item of the link DMed to `userId` from the links table (the record, its link-id alias and its
 * delivery item), as DynamoDB's TTL does some days after `ttl`: moto never expires items.
 */
async function expireLinkItems(userId: string) {
  const hash = linkHashOf(userId);
  const link = await bot.deps.store.links.get(hash);
  expect(link, 'the link record before its TTL').toBeDefined();
  const model = bot.deps.store.links.model;
  for (const id of [hash, `link-id#${link?.linkId}`, `delivery#${link?.deliveryKey}`]) await model.delete({ id });
  expect(await bot.deps.store.links.getByLinkId(link?.linkId ?? '')).toBeUndefined();
}

const linkDms = (userId: string) => dmsTo(bot, userId).filter((m) => m.includes('/credentials/'));

describe('a link item deleted by its TTL', () => {
  it('keeps the new key and deactivates the old one at the end of a long grace period when the link was opened', async () => {
    const name = nextName('ttl-opened');
    const oldKey = await userWithKey(name, 'U0OWNER1');
    await command(`rotate-key ${name}`, 'U0OWNER1');
    const newKey = (await rotationOf(name)).rotation?.newKeyId ?? '';
    await openLink('U0OWNER1');
    await expireLinkItems('U0OWNER1');

    bot.clock.advance(GRACE_DAYS * DAY + 60_000);
    await bot.schedule();
    await bot.drain(); // the worker runs what the sweep woke

    expect(await keysOf(name)).toEqual({ [oldKey]: 'Inactive', [newKey]: 'Active' });
    expect((await rotationStateOf(bot.deps, 'home', name))?.phase).toBe('deactivated');
  });

  it('finds a reveal the page could not record on the request on the link item, while it exists, and records it', async () => {
    const name = nextName('ttl-backfilled');
    const oldKey = await userWithKey(name, 'U0OWNER11');
    await command(`rotate-key ${name}`, 'U0OWNER11');
    const { id, rotation } = await rotationOf(name);
    await openLink('U0OWNER11');
    // As if the page's write to the request had failed (it is logged, never shown): only the link item knows.
    await bot.deps.store.requests.model.update({ id }, { $REMOVE: ['linkOpened'] } as never);

    bot.clock.advance(25 * 3_600_000); // past the link's expiry: the scheduled task looks at the link
    await bot.schedule();
    await bot.drain(); // the worker runs what the sweep woke
    const recorded = (await bot.deps.store.requests.get(id))?.linkOpened;
    await expireLinkItems('U0OWNER11');
    bot.clock.advance(GRACE_DAYS * DAY);
    await bot.schedule();
    await bot.drain(); // the worker runs what the sweep woke

    expect(recorded?.linkId).toBeDefined();
    expect(await keysOf(name)).toEqual({ [oldKey]: 'Inactive', [rotation?.newKeyId ?? '']: 'Active' });
  });

  it('decides a rotation stored before requests recorded their link from the link audit trail, opened or not', async () => {
    const opened = nextName('ttl-legacy-opened');
    const unopened = nextName('ttl-legacy-unopened');
    const openedOld = await userWithKey(opened, 'U0OWNER12');
    const unopenedOld = await userWithKey(unopened, 'U0OWNER13');
    await command(`rotate-key ${opened}`, 'U0OWNER12');
    await command(`rotate-key ${unopened}`, 'U0OWNER13');
    await openLink('U0OWNER12');
    // The older shape of the item: no record of the opening, no link expiry on the request.
    for (const name of [opened, unopened]) {
      const r = await rotationOf(name);
      const rotation = { ...r.rotation, oldKeyId: r.rotation?.oldKeyId ?? '' };
      delete rotation.linkExpiresAt;
      expect(await bot.deps.store.requests.update(r, { rotation }, bot.clock.now(), ['linkOpened'])).toBeDefined();
    }
    const unopenedNew = (await rotationOf(unopened)).rotation?.newKeyId ?? '';
    await expireLinkItems('U0OWNER12');
    await expireLinkItems('U0OWNER13');

    bot.clock.advance(GRACE_DAYS * DAY);
    await bot.schedule();
    await bot.drain(); // the worker runs what the sweep woke

    const openedNew = (await rotationOf(opened)).rotation?.newKeyId ?? '';
    expect(await keysOf(opened)).toEqual({ [openedOld]: 'Inactive', [openedNew]: 'Active' });
    expect(await keysOf(unopened)).toEqual({ [unopenedOld]: 'Active' });
    expect(unopenedNew).not.toBe('');
    expect((await rotationStateOf(bot.deps, 'home', unopened))?.phase).toBe('cancelled');
  });

  it('still cancels a rotation whose link was never opened: new key deleted, old key untouched', async () => {
    const name = nextName('ttl-unopened');
    const oldKey = await userWithKey(name, 'U0OWNER2');
    await command(`rotate-key ${name}`, 'U0OWNER2');
    await expireLinkItems('U0OWNER2');

    bot.clock.advance(GRACE_DAYS * DAY + 60_000);
    await bot.schedule();
    await bot.drain(); // the worker runs what the sweep woke

    expect(await keysOf(name)).toEqual({ [oldKey]: 'Active' });
    expect((await rotationStateOf(bot.deps, 'home', name))?.phase).toBe('cancelled');
    expect(dmsTo(bot, 'U0OWNER2').at(-1)).toContain('untouched');
  });
});

describe('a link reported as not opened by its owner, then deleted by its TTL', () => {
  it('cancels the rotation as before: the reported new key deleted, the old key left active', async () => {
    const name = nextName('ttl-reported');
    const oldKey = await userWithKey(name, 'U0OWNER10');
    await command(`rotate-key ${name}`, 'U0OWNER10');
    await openLink('U0OWNER10');
    const link = await bot.deps.store.links.get(linkHashOf('U0OWNER10'));
    await bot.interact(notMeClick(link?.linkId ?? '', 'U0OWNER10', bot.slack.responseUrl('not-me-rotation')));
    await bot.drain();
    await expireLinkItems('U0OWNER10');

    bot.clock.advance(GRACE_DAYS * DAY + 60_000);
    await bot.schedule();
    await bot.drain(); // the worker runs what the sweep woke

    expect(await keysOf(name)).toEqual({ [oldKey]: 'Active' });
    expect((await rotationStateOf(bot.deps, 'home', name))?.phase).toBe('cancelled');
  });
});

describe('an old key or user deleted outside the bot', () => {
  it('ends the rotation when the old key was deleted in the console, tells the owner, and lets a new rotation start', async () => {
    const name = nextName('key-gone');
    const oldKey = await userWithKey(name, 'U0OWNER3');
    await command(`rotate-key ${name}`, 'U0OWNER3');
    const first = await rotationOf(name);
    const newKey = first.rotation?.newKeyId ?? '';
    await openLink('U0OWNER3');
    await iam().send(new DeleteAccessKeyCommand({ UserName: name, AccessKeyId: oldKey }));

    bot.clock.advance(GRACE_DAYS * DAY + 60_000);
    await bot.schedule();
    await bot.drain(); // the worker runs what the sweep woke
    const ended = await rotationOf(name);
    const again = await command(`rotate-key ${name}`, 'U0OWNER3');
    const second = await rotationOf(name);

    expect(ended.status).toBe('done');
    expect(ended.rotation?.phase).toBe('deleted');
    expect(ended.rotation?.gone).toBe('key');
    expect(await auditActions(bot, first.id)).toEqual(expect.arrayContaining(['step-skipped', 'rotation.ended-gone']));
    expect(dmsTo(bot, 'U0OWNER3').some((m) => m.includes('was deleted outside the bot') && m.includes(oldKey))).toBe(
      true,
    );
    expect(again).toContain('needs no approval');
    expect(second.id).not.toBe(first.id);
    expect(second.rotation?.oldKeyId).toBe(newKey);
    expect(second.status).toBe('done');
  });

  it('ends the rotation when the whole user was deleted with its keys, and a user made again under that name can be rotated', async () => {
    const name = nextName('user-gone');
    const oldKey = await userWithKey(name, 'U0OWNER4');
    await command(`rotate-key ${name}`, 'U0OWNER4');
    const first = await rotationOf(name);
    await openLink('U0OWNER4');
    // Someone deletes the user in the console, keys first. Sent as the worker only so that the role checker sees the
    // DeleteUser and forgets the user's path: from then on it evaluates calls on the user against `user/<name>`, as
    // IAM does for a user that does not exist (a path-scoped grant then answers AccessDenied, not NoSuchEntity).
    await bot.as('worker', async () => {
      for (const id of Object.keys(await keysOf(name)))
        await iam().send(new DeleteAccessKeyCommand({ UserName: name, AccessKeyId: id }));
      await iam().send(new DeleteUserCommand({ UserName: name }));
    });

    bot.clock.advance(GRACE_DAYS * DAY + 60_000);
    await bot.schedule();
    await bot.drain(); // the worker runs what the sweep woke
    await bot.schedule();
    await bot.drain(); // the worker runs what the sweep woke
    const ended = await rotationOf(name);
    const recreatedKey = await userWithKey(name, 'U0OWNER4');
    const again = await command(`rotate-key ${name}`, 'U0OWNER4');
    const second = await rotationOf(name);

    expect(ended.rotation?.phase).toBe('deleted');
    expect(ended.rotation?.gone).toBe('user');
    expect((await auditActions(bot, first.id)).filter((a) => a === 'rotation.ended-gone')).toHaveLength(1);
    const told = dmsTo(bot, 'U0OWNER4').filter((m) => m.includes('was deleted outside the bot'));
    expect(told).toHaveLength(1);
    expect(told[0]).toContain(oldKey);
    expect(again).toContain('needs no approval');
    expect(second.id).not.toBe(first.id);
    expect(second.rotation?.oldKeyId).toBe(recreatedKey);
  });

  it("ends the rotation when the owner says they've switched after deleting the old key themselves", async () => {
    const name = nextName('switched-gone');
    const oldKey = await userWithKey(name, 'U0OWNER5');
    await command(`rotate-key ${name}`, 'U0OWNER5');
    const rotation = await rotationOf(name);
    await openLink('U0OWNER5');
    await iam().send(new DeleteAccessKeyCommand({ UserName: name, AccessKeyId: oldKey }));

    await bot.clickButton({ userId: 'U0OWNER5', actionId: ROTATION_SWITCHED, value: rotation.id });
    await bot.drain();

    const ended = await rotationOf(name);
    expect(ended.rotation?.phase).toBe('deleted');
    expect(ended.rotation?.gone).toBe('key');
    expect(dmsTo(bot, 'U0OWNER5').at(-1)).toContain('was deleted outside the bot');
  });
});

describe('a worker killed right after CreateAccessKey returned', () => {
  it('is resumed by the retry: the orphan key deleted, one new key delivered by one link, the old key untouched', async () => {
    const name = nextName('killed');
    const oldKey = await userWithKey(name, 'U0OWNER6');
    // The worker's first run gets no answer from CreateAccessKey once the key exists in moto: as when Lambda stops the
    // worker right after the call returned, before the write that records the key.
    const client = iam();
    const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
    let orphan = '';
    let killedNow: () => void = () => {};
    const reached = new Promise<void>((resolve) => {
      killedNow = resolve;
    });
    (client as { send: unknown }).send = async (command: unknown) => {
      if (!(command instanceof CreateAccessKeyCommand) || orphan) return send(command);
      const out = (await send(command)) as { AccessKey?: { AccessKeyId?: string } };
      orphan = out.AccessKey?.AccessKeyId ?? '?';
      killedNow();
      return new Promise(() => {});
    };
    // The runner does not wait for the killed run (it never ends), only until it is killed (or ends without reaching
    // CreateAccessKey, which the assertions below then report), so that the command's jobs drain.
    let killed: Job | undefined;
    bot.dispatcher.setRunner((job) => {
      if (job.type !== 'provision' || killed) return runJob(bot.deps, job);
      killed = job;
      return Promise.race([reached, runJob(bot.deps, job)]);
    });
    try {
      await command(`rotate-key ${name}`, 'U0OWNER6');
    } finally {
      (client as { send: unknown }).send = send;
      bot.dispatcher.setRunner((job) => runJob(bot.deps, job));
    }
    expect(orphan).toMatch(/^[A-Z0-9]{16,}$/);
    expect(Object.keys(await keysOf(name))).toEqual(expect.arrayContaining([oldKey, orphan]));

    bot.clock.advance(LEASE_MS + 1_000);
    await bot.runJob(killed);
    await bot.drain();

    const rotation = await rotationOf(name);
    const newKey = rotation.rotation?.newKeyId ?? '';
    expect(rotation.status).toBe('done');
    expect(newKey).not.toBe(orphan);
    expect(await keysOf(name)).toEqual({ [oldKey]: 'Active', [newKey]: 'Active' });
    expect(linkDms('U0OWNER6')).toHaveLength(1);
    expect((await bot.deps.store.links.get(linkHashOf('U0OWNER6')))?.accessKeyId).toBe(newKey);
    // The audit shows the recovery: the new key's step names the orphan it deleted.
    const events = await bot.deps.store.audit.list(`request#${rotation.id}`);
    expect(events.filter((e) => JSON.stringify(e.detail ?? {}).includes(orphan))).toHaveLength(1);
  });
});

/** Approves the request and returns its provisioning job, not yet run. */
async function approveHoldingJob(request: AccessRequest): Promise<Job> {
  const real = bot.deps.dispatcher;
  const held: Job[] = [];
  bot.deps.dispatcher = { dispatch: async (job) => void held.push(job) };
  try {
    await click(bot, request, 'U0APPROVER1');
  } finally {
    bot.deps.dispatcher = real;
  }
  const [job] = held;
  if (job?.type !== 'provision') throw new Error('the approval dispatched no provisioning job');
  return job;
}

/** Runs `fn` with the policy changed by `change`, as a redeployed worker would have it. */
async function underPolicy<T>(change: (policy: Config['policy']) => Config['policy'], fn: () => Promise<T>) {
  const original = bot.deps.config;
  bot.deps.config = { ...original, policy: change(original.policy) };
  try {
    return await fn();
  } finally {
    bot.deps.config = original;
  }
}

describe('the same failure handling as create-user', () => {
  it('refuses an approved rotation of a user the policy no longer manages, before any IAM write, and tells channel, requester and approver', async () => {
    const name = nextName('unmanaged');
    const oldKey = await userWithKey(name, 'U0OWNER7');
    await command(`rotate-key ${name}`, 'U0REQUESTER');
    const pending = await rotationOf(name);
    const job = await approveHoldingJob(pending);

    await underPolicy(
      (p) => ({ ...p, users: { ...p.users, path: '/elsewhere/', managedPaths: [] } }),
      () => bot.runJob(job),
    );
    await bot.drain();

    const failed = await bot.deps.store.requests.get(pending.id);
    expect(await keysOf(name)).toEqual({ [oldKey]: 'Active' });
    expect(failed?.status).toBe('failed');
    expect(failed?.error).toBe(
      "refused: the policy no longer allows it (user path /iam-slack-bot/ is not among the policy's managed paths)",
    );
    expect(await auditActions(bot, pending.id)).toContain('provisioning-refused');
    const notice = bot.slack
      .callsOf('chat.postMessage')
      .find(
        (c) => c.args.channel === APPROVALS && String(c.args.text).includes(`did not rotate access key \`${oldKey}\``),
      );
    expect(notice?.args.text).toContain('not among the policy');
    expect(dmsTo(bot, 'U0REQUESTER').some((d) => d.includes(pending.id))).toBe(true);
    expect(dmsTo(bot, 'U0APPROVER1').some((d) => d.includes(pending.id) && d.includes('policy no longer allows'))).toBe(
      true,
    );
  });

  it('tells the approvers who approved a rotation that failed when it ran', async () => {
    const name = nextName('failed');
    const oldKey = await userWithKey(name, 'U0OWNER8');
    await command(`rotate-key ${name}`, 'U0REQUESTER');
    const pending = await rotationOf(name);
    const job = await approveHoldingJob(pending);
    await iam().send(new UpdateAccessKeyCommand({ UserName: name, AccessKeyId: oldKey, Status: 'Inactive' }));

    await bot.runJob(job);
    await bot.drain();

    const failed = await bot.deps.store.requests.get(pending.id);
    expect(failed?.status).toBe('failed');
    expect(failed?.error).toBe(`refused: key ${oldKey} is inactive now`);
    expect(dmsTo(bot, 'U0APPROVER1').some((d) => d.includes(pending.id) && d.includes('inactive now'))).toBe(true);
  });

  it('rotates a key of a user under a sub-path of a managed path, as the roles and the projection accept it', async () => {
    const name = nextName('sub-path');
    const oldKey = await userWithKey(name, 'U0OWNER9', '/iam-slack-bot/team-a/');

    const answer = await command(`rotate-key ${name}`, 'U0OWNER9');

    const rotation = await rotationOf(name);
    expect(answer).toContain('needs no approval');
    expect(rotation.status).toBe('done');
    expect(await keysOf(name)).toEqual({ [oldKey]: 'Active', [rotation.rotation?.newKeyId ?? '']: 'Active' });
  });
});

describe('a worker killed while it delivers the new key', () => {
  /** Every one-time link token DMed to `userId`, oldest first. */
  const linkTokens = (userId: string) =>
    bot.slack
      .callsOf('chat.postMessage')
      .filter((c) => c.args.channel === userId)
      .map((c) => /\/credentials\/([A-Za-z0-9_-]+)/.exec(JSON.stringify(c.args))?.[1])
      .filter((t): t is string => Boolean(t));

  /** The Secrets Manager secrets of a request's deliveries (named after its delivery keys). */
  async function secretsOf(requestId: string): Promise<string[]> {
    const client = new SecretsManagerClient({ region: 'us-east-1', endpoint: bot.moto.url });
    try {
      const out = await client.send(new ListSecretsCommand({}));
      return (out.SecretList ?? []).map((s) => s.Name ?? '').filter((n) => n.includes(requestId));
    } finally {
      client.destroy();
    }
  }

  /**
   * `/iam rotate-key` by the owner with the worker's first run killed where `hang` makes it stop (the call it wraps
   * never answers, as when Lambda stops the worker there); returns that run's job, for Lambda's retry.
   */
  async function rotateKilled(name: string, owner: string, hang: (died: () => void) => () => void): Promise<Job> {
    let died = () => {};
    const dead = new Promise<void>((resolve) => {
      died = resolve;
    });
    const restore = hang(died);
    let killed: Job | undefined;
    // The runner waits until the killed run hangs (it never ends), so that the command's other jobs drain.
    bot.dispatcher.setRunner((job) => {
      if (job.type !== 'provision' || killed) return runJob(bot.deps, job);
      killed = job;
      void runJob(bot.deps, job);
      return dead;
    });
    try {
      await command(`rotate-key ${name}`, owner);
    } finally {
      restore();
      bot.dispatcher.setRunner((job) => runJob(bot.deps, job));
    }
    expect(killed, 'the killed run').toBeDefined();
    return killed as Job;
  }

  it('retires the first link and deletes its secret when the DM went out unrecorded: one live link, one secret, one new key', async () => {
    // Prepare: the worker dies right after Slack took the link's DM, before the link records it.
    const name = nextName('killed-after-link');
    const oldKey = await userWithKey(name, 'U0OWNER21');
    const messenger = bot.deps.messenger;
    const post = messenger.post;
    const job = await rotateKilled(name, 'U0OWNER21', (died) => {
      let hung = false;
      messenger.post = async (channel, message) => {
        const out = await post.call(messenger, channel, message);
        if (hung || !JSON.stringify(message).includes('/credentials/')) return out;
        hung = true;
        died();
        return new Promise(() => {});
      };
      return () => {
        messenger.post = post;
      };
    });
    const firstKey = (await rotationOf(name)).rotation?.newKeyId ?? '';
    expect(linkTokens('U0OWNER21')).toHaveLength(1);

    // Act: Lambda's retry, once the killed run's lease is over.
    bot.clock.advance(LEASE_MS + 1_000);
    await bot.runJob(job);
    await bot.drain();

    // Assess
    const rotation = await rotationOf(name);
    const newKey = rotation.rotation?.newKeyId ?? '';
    expect(rotation.status).toBe('done');
    expect(newKey).not.toBe(firstKey);
    expect(await keysOf(name)).toEqual({ [oldKey]: 'Active', [newKey]: 'Active' });
    const [first, second] = linkTokens('U0OWNER21');
    expect(second, 'a second link').toBeDefined();
    const hash = (t: string | undefined) => createHash('sha256').update(String(t)).digest('hex');
    expect((await bot.deps.store.links.get(hash(first)))?.status).toBe('superseded');
    expect(await secretsOf(rotation.id)).toHaveLength(1);
    expect((await requestPage(bot, 'POST', String(first))).statusCode).not.toBe(200);
    const page = await requestPage(bot, 'POST', String(second));
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(newKey);
  });

  it('keeps the key and sends no second link when the DM was recorded before the run died', async () => {
    // Prepare: the worker dies after the link recorded its DM, before the delivery was marked done.
    const name = nextName('killed-after-dm');
    const oldKey = await userWithKey(name, 'U0OWNER22');
    const links = bot.deps.store.links;
    const complete = links.completeDelivery;
    const job = await rotateKilled(name, 'U0OWNER22', (died) => {
      let hung = false;
      links.completeDelivery = async (...args) => {
        if (hung) return complete.apply(links, args);
        hung = true;
        died();
        return new Promise(() => {});
      };
      return () => {
        links.completeDelivery = complete;
      };
    });
    const firstKey = (await rotationOf(name)).rotation?.newKeyId ?? '';

    // Act: Lambda's retry.
    bot.clock.advance(LEASE_MS + 1_000);
    await bot.runJob(job);
    await bot.drain();

    // Assess
    const rotation = await rotationOf(name);
    expect(rotation.status).toBe('done');
    expect(rotation.rotation?.newKeyId).toBe(firstKey);
    expect(await keysOf(name)).toEqual({ [oldKey]: 'Active', [firstKey]: 'Active' });
    expect(linkTokens('U0OWNER22')).toHaveLength(1);
    expect(await secretsOf(rotation.id)).toHaveLength(1);
    const page = await requestPage(bot, 'POST', linkSentTo(bot, 'U0OWNER22').token);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(firstKey);
  });
});

describe('a run killed right after a write that moves a rotation on', () => {
  type Update = TestBot['deps']['store']['requests']['update'];
  /**
   * Makes the first request write that `matches` never answer once it is done (as when Lambda stops the function
   * right after the call returned); resolves when it happened. Call the returned `restore` before the retry.
   */
  function dieAfterWrite(matches: (current: AccessRequest, changes: Parameters<Update>[1]) => boolean) {
    const requests = bot.deps.store.requests;
    const update = requests.update;
    let died = () => {};
    const dead = new Promise<void>((resolve) => {
      died = resolve;
    });
    let hung = false;
    requests.update = (async (...args: Parameters<Update>) => {
      const out = await update.apply(requests, args);
      if (hung || !matches(args[0], args[1])) return out;
      hung = true;
      died();
      return new Promise(() => {});
    }) as Update;
    return {
      dead,
      restore: () => {
        requests.update = update;
      },
    };
  }

  it('tells the owner the rotation started, and audits it, when the worker died right after claiming it', async () => {
    // Prepare: the worker's first run dies right after approved -> provisioning.
    const name = nextName('killed-after-claim');
    await userWithKey(name, 'U0OWNER23');
    const kill = dieAfterWrite((current, changes) => current.userName === name && changes.status === 'provisioning');
    let killed: Job | undefined;
    bot.dispatcher.setRunner((job) => {
      if (job.type !== 'provision' || killed) return runJob(bot.deps, job);
      killed = job;
      void runJob(bot.deps, job);
      return kill.dead;
    });
    try {
      await command(`rotate-key ${name}`, 'U0OWNER23');
    } finally {
      kill.restore();
      bot.dispatcher.setRunner((job) => runJob(bot.deps, job));
    }
    const started = () => dmsTo(bot, 'U0OWNER23').filter((m) => m.includes('): provisioning')).length;
    expect(started(), 'no start DM before the retry').toBe(0);

    // Act: Lambda's retry.
    bot.clock.advance(LEASE_MS + 1_000);
    await bot.runJob(killed as Job);
    await bot.drain();

    // Assess
    const rotation = await rotationOf(name);
    expect(rotation.status).toBe('done');
    expect(started()).toBe(1);
    expect((await auditActions(bot, rotation.id)).filter((a) => a === 'provisioning-started')).toHaveLength(1);
    expect(linkDms('U0OWNER23')).toHaveLength(1);
  });

  it('tells the owner the old key was deactivated, and audits it, once, when the run died right after the phase moved on', async () => {
    // Prepare: a delivered rotation whose link was opened, and a scheduled run that dies right after it writes
    // the phase `deactivated`.
    const name = nextName('killed-after-deactivated');
    const oldKey = await userWithKey(name, 'U0OWNER24');
    await command(`rotate-key ${name}`, 'U0OWNER24');
    await openLink('U0OWNER24');
    const { id } = await rotationOf(name);
    const told = () => dmsTo(bot, 'U0OWNER24').filter((m) => m.includes('is now inactive')).length;
    bot.clock.advance(GRACE_DAYS * DAY + 60_000);
    const kill = dieAfterWrite((current, changes) => current.id === id && changes.rotation?.phase === 'deactivated');
    // the write is the worker's (the sweep woke the rotation's run): its invocation ends at the kill
    bot.dispatcher.setRunner((job) => Promise.race([runJob(bot.deps, job), kill.dead]));
    void bot.schedule();
    await kill.dead;
    kill.restore();
    bot.dispatcher.setRunner((job) => runJob(bot.deps, job));

    // Act: the schedule's next run.
    bot.clock.advance(16 * 60_000);
    await bot.schedule();
    await bot.drain();

    // Assess
    expect((await keysOf(name))[oldKey]).toBe('Inactive');
    expect((await rotationStateOf(bot.deps, 'home', name))?.phase).toBe('deactivated');
    expect((await auditActions(bot, id)).filter((a) => a === 'rotation.old-key-deactivated')).toHaveLength(1);
    expect(told()).toBe(1);
  });
});
