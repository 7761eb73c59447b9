/**
 * A key rotation's delivery on the resumable runner (src/kinds/rotate-key/rotation-delivery.ts, issue 18). These
 * tests hold the `provision` job back and run the delivery on the runner themselves (to kill a part at a chosen
 * call), as the worker (its AWS calls checked against the worker's role). Signed Slack requests, moto,
 * the fake Slack and the injected clock.
 */
import { CreateAccessKeyCommand, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROTATION_SWITCHED } from '../../src/blocks/ids.js';
import type { Job } from '../../src/jobs/types.js';
import { rotationStateOf } from '../../src/kinds/rotate-key/rotation.js';
import { RUN_LEASE_MS } from '../../src/services/runner/engine.js';
import { runRequest } from '../../src/services/runner/kinds.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { existingUser } from '../support/changes.js';
import { auditActions, dmsTo } from '../support/create-user.js';
import { requestPage } from '../support/credentials.js';
import { testPolicy } from '../support/policy.js';

const DAY = 86_400_000;
let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot({ policy: testPolicy({ keys: { rotationGraceDays: 7, recoveryDays: 7 } }) });
});
afterAll(async () => {
  await bot.stop();
});

let seq = 0;
const nextName = (what: string) => `runner-${what}-${++seq}`;
const iam = () => bot.deps.aws.account().iam;

async function keysOf(userName: string): Promise<Record<string, string>> {
  const out = await iam().send(new ListAccessKeysCommand({ UserName: userName }));
  return Object.fromEntries((out.AccessKeyMetadata ?? []).map((k) => [k.AccessKeyId ?? '', k.Status ?? '']));
}

/** Every one-time link token DMed to `userId`, oldest first. */
const linkTokens = (userId: string) =>
  bot.slack
    .callsOf('chat.postMessage')
    .filter((c) => c.args.channel === userId)
    .map((c) => /\/credentials\/([A-Za-z0-9_-]+)/.exec(JSON.stringify(c.args))?.[1])
    .filter((t): t is string => Boolean(t));

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
 * An IAM user owned by `owner` with one active key, and its rotation asked by the owner (approved at once), with
 * the `provision` job held back: returns the request and the old key.
 */
async function approvedRotation(what: string, owner: string): Promise<{ request: AccessRequest; oldKey: string }> {
  const name = nextName(what);
  await existingUser(bot, name, { owner });
  const made = await iam().send(new CreateAccessKeyCommand({ UserName: name }));
  const real = bot.deps.dispatcher;
  const held: Job[] = [];
  bot.deps.dispatcher = { dispatch: async (job) => void held.push(job) };
  try {
    const { result } = await bot.command(`rotate-key ${name}`, owner);
    expect(result.statusCode).toBe(200);
    // the worker's check of the command's rotation (publish-request, issue 19) runs; the `provision` job it hands
    // on once it finds the owner asked is held
    const handed = held.splice(0);
    held.push(...handed.filter((j) => j.type === 'provision'));
    for (const job of handed.filter((j) => j.type !== 'provision')) await real.dispatch(job);
    await bot.drain();
  } finally {
    bot.deps.dispatcher = real;
  }
  expect(held.map((j) => j.type)).toContain('provision');
  const view = await rotationStateOf(bot.deps, 'home', name);
  const request = await bot.deps.store.requests.get(view?.requestId ?? '');
  expect(request?.status).toBe('approved');
  return { request: request as AccessRequest, oldKey: made.AccessKey?.AccessKeyId ?? '' };
}

const deliver = (request: AccessRequest) =>
  bot.as('worker', () => runRequest(bot.deps, request.id, request.attempt, { announce: true }));

describe("a rotation's delivery on the resumable runner", () => {
  it('delivers the new key by one link, starts the grace period and tells the owner, each step audited', async () => {
    // Prepare
    const { request, oldKey } = await approvedRotation('delivered', 'U0OWNER1');

    // Act
    const outcome = await deliver(request);
    await bot.drain();

    // Assess
    expect(outcome).toBe('done');
    const done = (await bot.deps.store.requests.get(request.id)) as AccessRequest;
    const newKey = done.rotation?.newKeyId ?? '';
    expect(done.status).toBe('done');
    expect(done.rotation?.phase).toBe('grace');
    expect(await keysOf(request.userName)).toEqual({ [oldKey]: 'Active', [newKey]: 'Active' });
    expect(linkTokens('U0OWNER1')).toHaveLength(1);
    expect(dmsTo(bot, 'U0OWNER1').join()).toContain(ROTATION_SWITCHED);
    expect(await auditActions(bot, request.id)).toEqual(
      expect.arrayContaining([
        'provisioning-started',
        'notified',
        'step-decided',
        'step-done',
        'rotation.key-delivered',
      ]),
    );
    const page = await requestPage(bot, 'POST', String(linkTokens('U0OWNER1')[0]));
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(newKey);

    // The rotation's life goes on with the scheduled task, as before.
    bot.clock.advance(7 * DAY + 60_000);
    await bot.schedule();
    await bot.drain(); // the worker runs what the sweep woke
    expect(await keysOf(request.userName)).toEqual({ [oldKey]: 'Inactive', [newKey]: 'Active' });
  });

  it('resumes a part killed right after the link was DMed, unrecorded: the first link retired, one secret, one new key', async () => {
    // Prepare: the part dies right after Slack took the link's DM.
    const { request, oldKey } = await approvedRotation('killed', 'U0OWNER2');
    const messenger = bot.deps.messenger;
    const post = messenger.post;
    let died = () => {};
    const dead = new Promise<void>((resolve) => {
      died = resolve;
    });
    let hung = false;
    messenger.post = async (channel, message) => {
      const out = await post.call(messenger, channel, message);
      if (hung || !JSON.stringify(message).includes('/credentials/')) return out;
      hung = true;
      died();
      return new Promise(() => {});
    };
    void deliver(request);
    await dead;
    messenger.post = post;
    const firstKey = (await bot.deps.store.requests.get(request.id))?.rotation?.newKeyId ?? '';

    // Act: Lambda's retry, once the part's lease is over.
    bot.clock.advance(RUN_LEASE_MS + 60_000);
    const outcome = await deliver(request);
    await bot.drain();

    // Assess
    expect(outcome).toBe('done');
    const done = (await bot.deps.store.requests.get(request.id)) as AccessRequest;
    const newKey = done.rotation?.newKeyId ?? '';
    expect(newKey).not.toBe(firstKey);
    expect(await keysOf(request.userName)).toEqual({ [oldKey]: 'Active', [newKey]: 'Active' });
    const [first, second] = linkTokens('U0OWNER2');
    expect(second, 'a second link').toBeDefined();
    expect(await secretsOf(request.id)).toHaveLength(1);
    expect((await requestPage(bot, 'POST', String(first))).statusCode).not.toBe(200);
    const page = await requestPage(bot, 'POST', String(second));
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(newKey);
  });
});
