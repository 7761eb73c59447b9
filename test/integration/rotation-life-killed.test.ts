/**
 * A rotation's life killed right after the write that records a decision, before the owner (or the approval channel)
 * is told: the DM must still go out once the schedule's next runs resume it. On the scheduled task's phases the
 * `still-in-use` and `escalated` phases were written before their DMs, and the end of a rotation whose old key was
 * deleted outside the bot (`endGone`) DMed after its write: a kill there lost the DM for good. On the runner the DM
 * is a step of its own after the checkpoint that recorded the decision. Signed requests, moto, the injected clock,
 * the role checker; `keys.stillInUse: escalate`.
 */
import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
  ListAccessKeysCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob } from '../../src/jobs/worker.js';
import { rotationStateOf } from '../../src/kinds/rotate-key/rotation.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { existingUser } from '../support/changes.js';
import { APPROVALS, auditActions, dmsTo } from '../support/create-user.js';
import { linkSentTo, requestPage } from '../support/credentials.js';
import { testPolicy } from '../support/policy.js';

const DAY = 86_400_000;
const GRACE_DAYS = 7;
let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot({
    policy: testPolicy({ keys: { rotationGraceDays: GRACE_DAYS, recoveryDays: 7, stillInUse: 'escalate' } }),
  });
});
afterAll(async () => {
  await bot.stop();
});

let seq = 0;
const nextName = (what: string) => `${what}-${++seq}`;
const iam = () => bot.deps.aws.account().iam;

/** A delivered rotation of a new user owned by `owner`, its link opened; returns its id and the old key. */
async function deliveredRotation(what: string, owner: string): Promise<{ name: string; id: string; oldKey: string }> {
  const name = nextName(what);
  await existingUser(bot, name, { owner });
  const oldKey = (await iam().send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey?.AccessKeyId ?? '';
  const { result } = await bot.command(`rotate-key ${name}`, owner);
  expect(result.statusCode).toBe(200);
  await bot.drain();
  const page = await requestPage(bot, 'POST', linkSentTo(bot, owner).token);
  expect(page.statusCode).toBe(200);
  const id = (await rotationStateOf(bot.deps, 'home', name))?.requestId ?? '';
  expect(id).not.toBe('');
  return { name, id, oldKey };
}

type Update = TestBot['deps']['store']['requests']['update'];

/**
 * Runs the schedule (and the worker's jobs it hands off) with the first request write that `matches` never
 * answering once it is done, as when Lambda stops the function right after the call returned: the invocation that
 * made it ends there (a worker job's, or the scheduled function's own). Resolves once that happened.
 */
async function scheduleKilledAfterWrite(matches: (changes: Parameters<Update>[1]) => boolean): Promise<void> {
  const requests = bot.deps.store.requests;
  const update = requests.update;
  let died = () => {};
  const dead = new Promise<void>((resolve) => {
    died = resolve;
  });
  let hung = false;
  requests.update = (async (...args: Parameters<Update>) => {
    const out = await update.apply(requests, args);
    if (hung || !matches(args[1])) return out;
    hung = true;
    died();
    return new Promise(() => {});
  }) as Update;
  bot.dispatcher.setRunner((job) => Promise.race([runJob(bot.deps, job), dead]));
  try {
    void bot.schedule();
    await dead;
  } finally {
    requests.update = update;
    bot.dispatcher.setRunner((job) => runJob(bot.deps, job));
  }
}

/** The schedule's next runs (each 16 minutes after the last), and the worker's jobs they hand off. */
async function nextSchedules(times = 2): Promise<void> {
  for (let i = 0; i < times; i++) {
    bot.clock.advance(16 * 60_000);
    await bot.schedule();
    await bot.drain();
  }
}

/** STUB: moto cannot record a key's use, so GetAccessKeyLastUsed answers a use after delivery; all else is moto. */
function oldKeyUsed(): () => void {
  const client = iam();
  const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
  const usedAt = new Date(bot.clock.now().getTime() + DAY);
  (client as { send: unknown }).send = async (command: unknown) =>
    command instanceof GetAccessKeyLastUsedCommand
      ? { AccessKeyLastUsed: { LastUsedDate: usedAt, ServiceName: 'ec2', Region: 'us-west-2' } }
      : send(command);
  return () => {
    (client as { send: unknown }).send = send;
  };
}

const keysOf = async (userName: string) =>
  Object.fromEntries(
    ((await iam().send(new ListAccessKeysCommand({ UserName: userName }))).AccessKeyMetadata ?? []).map((k) => [
      k.AccessKeyId,
      k.Status,
    ]),
  );

describe("a rotation's life killed right after it recorded a decision still tells", () => {
  it('the owner that the old key is still in use, once, when the run died right after recording it', async () => {
    // Prepare: the grace period is over and the old key was used after the delivery.
    const { name, id, oldKey } = await deliveredRotation('still-in-use', 'U0OWNER1');
    const told = () => dmsTo(bot, 'U0OWNER1').filter((m) => m.includes('was used after its replacement')).length;
    const restore = oldKeyUsed();
    try {
      bot.clock.advance(GRACE_DAYS * DAY + 60_000);
      await scheduleKilledAfterWrite((changes) => changes.rotation?.phase === 'still-in-use');
      expect(told(), 'no DM before the kill').toBe(0);

      // Act: the schedule's next runs.
      await nextSchedules();
    } finally {
      restore();
    }

    // Assess
    expect((await rotationStateOf(bot.deps, 'home', name))?.phase).toBe('still-in-use');
    expect(told()).toBe(1);
    expect((await auditActions(bot, id)).filter((a) => a === 'rotation.old-key-still-in-use')).toHaveLength(1);
    expect((await keysOf(name))[oldKey]).toBe('Active');
  });

  it('the approval channel and the owner that the key is escalated, once, when the run died right after recording it', async () => {
    // Prepare: still in use after the first grace period, and again after the second.
    const { name, id, oldKey } = await deliveredRotation('escalated', 'U0OWNER2');
    // this rotation's (the first test's rotation escalates in the same schedule runs)
    const escalations = (to: string) =>
      bot.slack
        .callsOf('chat.postMessage')
        .filter(
          (c) =>
            c.args.channel === to &&
            JSON.stringify(c.args).includes('still in use after two grace') &&
            JSON.stringify(c.args).includes(id),
        );
    const restore = oldKeyUsed();
    try {
      bot.clock.advance(GRACE_DAYS * DAY + 60_000);
      await bot.schedule();
      await bot.drain();
      expect((await rotationStateOf(bot.deps, 'home', name))?.phase).toBe('still-in-use');
      bot.clock.advance(GRACE_DAYS * DAY + 60_000);
      await scheduleKilledAfterWrite((changes) => changes.rotation?.phase === 'escalated');
      expect(escalations(APPROVALS), 'no post before the kill').toHaveLength(0);

      // Act: the schedule's next runs.
      await nextSchedules();
    } finally {
      restore();
    }

    // Assess
    expect((await rotationStateOf(bot.deps, 'home', name))?.phase).toBe('escalated');
    expect(escalations(APPROVALS)).toHaveLength(1);
    expect(escalations('U0OWNER2')).toHaveLength(1);
    expect((await auditActions(bot, id)).filter((a) => a === 'rotation.escalated')).toHaveLength(1);
    expect((await keysOf(name))[oldKey]).toBe('Active');
  });

  it('the owner that the old key was deleted outside the bot, once, when the run died right after recording the end', async () => {
    // Prepare: the old key deleted in the console during the grace period.
    const { name, id, oldKey } = await deliveredRotation('gone', 'U0OWNER3');
    await iam().send(new DeleteAccessKeyCommand({ UserName: name, AccessKeyId: oldKey }));
    const told = () => dmsTo(bot, 'U0OWNER3').filter((m) => m.includes('was deleted outside the bot')).length;
    bot.clock.advance(GRACE_DAYS * DAY + 60_000);
    await scheduleKilledAfterWrite((changes) => changes.rotation?.gone === 'key');
    expect(told(), 'no DM before the kill').toBe(0);

    // Act: the schedule's next runs.
    await nextSchedules();

    // Assess
    const ended = (await bot.deps.store.requests.get(id)) as AccessRequest;
    expect(ended.rotation?.phase).toBe('deleted');
    expect(ended.rotation?.gone).toBe('key');
    expect(told()).toBe(1);
    expect((await auditActions(bot, id)).filter((a) => a === 'rotation.ended-gone')).toHaveLength(1);
  });
});
