/**
 * Crash at every step (issue 18): each kind of request runs once uninterrupted, recording every call of the worker
 * that changes something; then, for each such call, it runs again from a fresh state with the worker killed just
 * before the call and, separately, just after it (as when Lambda times out: no answer, nothing after it), Lambda's
 * retries and the 15-minute sweeps run, and the end state must be the uninterrupted run's (see
 * test/support/kill-points.ts for the model, what is compared, and what the harness allows).
 *
 * `npm run test:crash` checks every kill point of every kind (CRASH_SWEEP=full); the default run checks a fixed
 * sample of SAMPLE_POINTS points per kind, spread over the run, each killed before and after. CRASH_KIND=<prefix>
 * runs one kind; CRASH_DEBUG=1 prints each kind's kill points.
 */
import { CreateAccessKeyCommand, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, expect } from 'vitest';
import { scheduledTasks } from '../../src/jobs/schedule.js';
import { rotationStateOf } from '../../src/kinds/rotate-key/rotation.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { changeRequestFor, existingUser } from '../support/changes.js';
import { crashSweep } from '../support/crash-sweep.js';
import { allowPasswordChange, click, requestFor } from '../support/create-user.js';
import { linkSentTo, requestPage } from '../support/credentials.js';
import {
  type CrashScenario,
  type EndState,
  KillSwitch,
  type ScenarioContext,
  snapshotRequest,
} from '../support/kill-points.js';
import { testPolicy } from '../support/policy.js';

const START = new Date('2026-11-22T09:00:00Z');

let bot: TestBot;
const kills = new KillSwitch();
beforeAll(async () => {
  const policy = testPolicy();
  bot = await startTestBot({
    policy: { ...policy, groups: [...policy.groups, { name: 'log-readers', description: 'Read the logs' }] },
    decorateClient: kills.awsMiddleware,
  });
  kills.attach(bot);
});
afterAll(async () => {
  await bot?.stop();
});

/** `/iam <text>` as `userId`, then the worker's jobs. */
async function command(text: string, userId = 'U0REQUESTER'): Promise<void> {
  const { result } = await bot.command(text, userId);
  expect(result.statusCode).toBe(200);
  await bot.drain();
}

const MEMBER = 'crash-member';
const ROTATED = 'crash-rotated';
const DAY = 86_400_000;
/** The rotation the scheduled scenario's setup made. */
let rotationId = '';

/** The statuses of a user's access keys, by id. */
async function keyStatuses(b: TestBot, userName: string): Promise<Record<string, string>> {
  const out = await b.deps.aws.account().iam.send(new ListAccessKeysCommand({ UserName: userName }));
  return Object.fromEntries((out.AccessKeyMetadata ?? []).map((k) => [k.AccessKeyId ?? '', k.Status ?? '']));
}

/**
 * A rotation's end state: the request's, plus the old key's status (untouched: Active until the grace period ends)
 * and how many keys were made (exactly one new one).
 */
async function rotationSnapshot(
  b: TestBot,
  context: ScenarioContext,
  requestId: string,
  from: number,
  k: KillSwitch,
): Promise<EndState> {
  // A retry deleting the key a killed part made but never delivered names it in the detail of the `new-key` step's
  // event (not compared); that exactly one new key is left is checked below.
  const state = await snapshotRequest(b, context, requestId, from, k.minted, k.passwords);
  const statuses = await keyStatuses(b, context.userNames[0] as string);
  const old = context.keysBefore ?? [];
  state.iam.oldKeys = old.map((id) => statuses[id] ?? 'deleted');
  state.iam.newKeys = Object.keys(statuses).filter((id) => !old.includes(id)).length;
  return state;
}

/**
 * The kinds checked. Adding one (rotation, reissue, offboarding) is one entry: `setup` makes the state before the
 * request (IAM users, keys), `act` submits it and approves it, draining the worker, and returns the request id;
 * `settle` and `snapshot` default to the sweeps plus an approver's Retry, and to the request's end state (a kind with
 * a life of its own, such as a rotation's grace period, advances the clock in its own `settle`).
 */
const SCENARIOS: CrashScenario[] = [
  {
    kind: 'create-user (keys and console)',
    async setup(b) {
      await allowPasswordChange(b);
      return { userNames: ['crash-bot'], credentialsTo: 'U0RECIPIENT', approver: 'U0APPROVER1' };
    },
    async act(b) {
      await command(
        'create-user crash-bot --for <@U0RECIPIENT|rita> --groups ci-deployers,read-only --keys --console --reason "CI deploys"',
      );
      const request = await requestFor(b, 'crash-bot');
      await click(b, request, 'U0APPROVER1');
      await b.drain();
      return request.id;
    },
  },
  {
    kind: 'add-to-group (3 groups)',
    async setup(b) {
      await existingUser(b, MEMBER, { owner: 'U0OWNER' });
      return { userNames: [MEMBER], approver: 'U0APPROVER1' };
    },
    async act(b) {
      await command(`add-to-group ${MEMBER} ci-deployers read-only log-readers --reason "Three groups"`);
      const request = await changeRequestFor(b, MEMBER);
      await click(b, request, 'U0APPROVER1');
      await b.drain();
      return request.id;
    },
  },
  {
    kind: 'remove-from-group',
    async setup(b) {
      await existingUser(b, MEMBER, { owner: 'U0OWNER', groups: ['ci-deployers', 'read-only'] });
      return { userNames: [MEMBER], approver: 'U0APPROVER1' };
    },
    async act(b) {
      await command(`remove-from-group ${MEMBER} read-only --reason "Audit finding"`);
      const request = await changeRequestFor(b, MEMBER);
      await click(b, request, 'U0APPROVER1');
      await b.drain();
      return request.id;
    },
  },
  {
    // decided at once by the worker once IAM says who owns the user (the inline command answers first): the one
    // write that approves it and records why, the answer, the run's hand-off
    kind: 'owner removes at once (remove-from-group)',
    async setup(b) {
      await existingUser(b, MEMBER, { owner: 'U0OWNER', groups: ['ci-deployers', 'read-only'] });
      return { userNames: [MEMBER], approver: 'U0APPROVER1' };
    },
    async act(b) {
      await command(`remove-from-group ${MEMBER} read-only --reason "Done with it"`, 'U0OWNER');
      return (await changeRequestFor(b, MEMBER)).id;
    },
  },
  {
    kind: 'set-owner',
    async setup(b) {
      await existingUser(b, MEMBER, { owner: 'U0APPROVER3' });
      return { userNames: [MEMBER], approver: 'U0APPROVER1' };
    },
    async act(b) {
      await command(`set-owner ${MEMBER} <@U0ALICE|alice> --reason "Alice runs it now"`);
      const request = await changeRequestFor(b, MEMBER);
      await click(b, request, 'U0APPROVER1');
      await b.drain();
      return request.id;
    },
  },
  {
    kind: 'rotate-key (by the owner, delivered)',
    async setup(b) {
      await existingUser(b, ROTATED, { owner: 'U0OWNER' });
      const made = await b.deps.aws.account().iam.send(new CreateAccessKeyCommand({ UserName: ROTATED }));
      return {
        userNames: [ROTATED],
        credentialsTo: 'U0OWNER',
        approver: 'U0APPROVER1',
        keysBefore: [made.AccessKey?.AccessKeyId ?? ''],
      };
    },
    async act(b) {
      await command(`rotate-key ${ROTATED}`, 'U0OWNER');
      const view = await rotationStateOf(b.deps, 'home', ROTATED);
      expect(view, 'a rotation under way').toBeDefined();
      return view?.requestId ?? '';
    },
    snapshot: rotationSnapshot,
  },
  {
    // The rotation's own life after delivery, on its run, woken by the scheduled function's sweep: the link opened,
    // the grace period over (the old key deactivated), then the recovery period (the old key deleted). Delivery is
    // setup here (the scenario above kills it); the kill points are the schedule's and the worker's parts it wakes.
    kind: 'rotate-key (scheduled: old key deactivated, then deleted)',
    async setup(b) {
      await existingUser(b, ROTATED, { owner: 'U0OWNER' });
      const made = await b.deps.aws.account().iam.send(new CreateAccessKeyCommand({ UserName: ROTATED }));
      await command(`rotate-key ${ROTATED}`, 'U0OWNER');
      rotationId = (await rotationStateOf(b.deps, 'home', ROTATED))?.requestId ?? '';
      const page = await requestPage(b, 'POST', linkSentTo(b, 'U0OWNER').token);
      expect(page.statusCode).toBe(200);
      return { userNames: [ROTATED], approver: 'U0APPROVER1', keysBefore: [made.AccessKey?.AccessKeyId ?? ''] };
    },
    async act(b) {
      const { keys } = b.deps.config.policy;
      // The killed schedule runs every task but the projection refresh: the refresh races the run part the sweep
      // hands off (in-process jobs start on the next turn), and writes a user only when it reads the old key after
      // the part changed it, so its kill points come and go from run to run. The refresh is a cache of IAM, rebuilt
      // whole by its next run; the retry below runs it.
      const killable = scheduledTasks.filter((t) => t.name !== 'refresh-user-projection');
      const scheduled = async (days: number) => {
        b.clock.advance(days * DAY + 60_000);
        await kills.invoke('schedule', () => b.schedule(killable));
        await b.drain();
        b.clock.advance(16 * 60_000); // the next run of the schedule: a killed one's retry
        await b.schedule();
        await b.drain();
      };
      await scheduled(keys.rotationGraceDays);
      await scheduled(keys.recoveryDays);
      return rotationId;
    },
    snapshot: rotationSnapshot,
  },
];

/**
 * Kill points where a message is sent twice: the kill falls between a Slack post and the write that records it
 * (Slack has no idempotency key), so the retry cannot know the post went out. Found by the full sweep; a doubled
 * message anywhere else fails the test, and so does a point listed here that the full sweep finds clean.
 * - the start's DM to the requester ("approved, creating now"), recorded by the `provisioning-started` event;
 * - the one-time link's DM, recorded by the link's delivery (the retry retires that link, so one stays live);
 * - the end's DMs (requester, owners), recorded by the `provisioned` event (create-user), or, for the change kinds
 *   (on the runner), each by its own step's checkpoint;
 * - a rotation's life's DMs to the owner, each a step of its run recorded by that step's checkpoint.
 */
const MAY_DOUBLE: Record<string, string[]> = {
  // On the runner: each DM is the last call of its step, recorded by that step's checkpoint (requests+audit).
  'create-user (keys and console)': [
    // the request's post in the approval channel, recorded where it is (setMessage); before it, the worker records
    // the account id its IAM check learned (the inline command leaves that check to the worker)
    'after publish-request#1/1.2 slack:chat.postMessage C0APPROVALS',
    'before publish-request#1/1.3 dynamodb:UpdateItem requests',
    // the one-time link's DM (the fast path: the first post of the run, before any checkpoint but the run's start:
    // the policy gate's and the IAM steps' are written with the delivery's), recorded on the link (its DM channel and
    // ts): the retry retires that link and sends another, so one stays live; once the DM is recorded, the retry
    // completes that delivery instead
    'after provision#1/1.11 slack:chat.postMessage U0RECIPIENT',
    'before provision#1/1.12 dynamodb:UpdateItem links',
    // the `start` step's DM to the requester ("approved"), after the delivery, recorded by the step's checkpoint
    'after provision#1/1.17 slack:chat.postMessage U0REQUESTER',
    'before provision#1/1.18 dynamodb:TransactWriteItems requests+audit',
    // the `tell-requester` step's DM ("ready"), recorded by the step's checkpoint
    'after provision#1/1.26 slack:chat.postMessage U0REQUESTER',
    'before provision#1/1.27 dynamodb:TransactWriteItems requests+audit',
  ],
  // The change kinds run on the resumable runner: each DM is a step of its own, recorded by that step's checkpoint
  // (the TransactWriteItems right after the post), so a DM is doubled only when the kill falls between the two:
  // the start's DM to the requester ("running"), then after the commit the requester's and the owners' DMs.
  'add-to-group (3 groups)': [
    // the request's post in the approval channel, recorded where it is (setMessage); before it, the worker records
    // what its IAM check learned (account id, path, owner, plan: the inline command leaves that check to the worker)
    'after publish-request#1/1.2 slack:chat.postMessage C0APPROVALS',
    'before publish-request#1/1.3 dynamodb:UpdateItem requests',
    'after provision#1/1.3 slack:chat.postMessage U0REQUESTER',
    'before provision#1/1.4 dynamodb:TransactWriteItems requests+audit',
    'after provision#1/1.17 slack:chat.postMessage U0REQUESTER',
    'before provision#1/1.18 dynamodb:TransactWriteItems requests+audit',
    'after provision#1/1.19 slack:chat.postMessage U0OWNER',
    'before provision#1/1.20 dynamodb:TransactWriteItems requests+audit',
  ],
  'remove-from-group': [
    // the request's post, recorded where it is (setMessage); before it the worker records what its IAM check learned
    'after publish-request#1/1.2 slack:chat.postMessage C0APPROVALS',
    'before publish-request#1/1.3 dynamodb:UpdateItem requests',
    'after provision#1/1.3 slack:chat.postMessage U0REQUESTER',
    'before provision#1/1.4 dynamodb:TransactWriteItems requests+audit',
    'after provision#1/1.13 slack:chat.postMessage U0REQUESTER',
    'before provision#1/1.14 dynamodb:TransactWriteItems requests+audit',
    'after provision#1/1.15 slack:chat.postMessage U0OWNER',
    'before provision#1/1.16 dynamodb:TransactWriteItems requests+audit',
  ],
  // decided at once by the worker (one write approves it), so no post; the run's DMs to the owner, who asked
  'owner removes at once (remove-from-group)': [
    'after provision#1/1.2 slack:chat.postMessage U0OWNER',
    'before provision#1/1.3 dynamodb:TransactWriteItems requests+audit',
    'after provision#1/1.11 slack:chat.postMessage U0OWNER',
    'before provision#1/1.12 dynamodb:TransactWriteItems requests+audit',
  ],
  'set-owner': [
    // the request's post in the approval channel, recorded where it is (setMessage); before it, the worker records
    // what its IAM check learned (account id, path, owner, plan: the inline command leaves that check to the worker)
    'after publish-request#1/1.2 slack:chat.postMessage C0APPROVALS',
    'before publish-request#1/1.3 dynamodb:UpdateItem requests',
    'after provision#1/1.3 slack:chat.postMessage U0REQUESTER',
    'before provision#1/1.4 dynamodb:TransactWriteItems requests+audit',
    'after provision#1/1.13 slack:chat.postMessage U0REQUESTER',
    'before provision#1/1.14 dynamodb:TransactWriteItems requests+audit',
    'after provision#1/1.15 slack:chat.postMessage U0APPROVER3',
    'before provision#1/1.16 dynamodb:TransactWriteItems requests+audit',
    'after provision#1/1.17 slack:chat.postMessage U0ALICE',
    'before provision#1/1.18 dynamodb:TransactWriteItems requests+audit',
  ],
  // On the runner (kinds/rotate-key/rotation-delivery.ts): each DM is the last call of its step, recorded by that
  // step's checkpoint (requests+audit), except the link's.
  'rotate-key (by the owner, delivered)': [
    // the `tell-start` step's DM to the owner ("provisioning"), recorded by the step's checkpoint
    'after provision#1/1.2 slack:chat.postMessage U0OWNER',
    'before provision#1/1.3 dynamodb:TransactWriteItems requests+audit',
    // The one-time link's DM, recorded on the link (its DM's channel and ts): the retry finds the link unrecorded,
    // retires it (so it can never be opened: one live link), deletes its secret and the key, and delivers a new key.
    // From that write on, the retry keeps the key and marks its link delivered instead.
    'after provision#1/1.12 slack:chat.postMessage U0OWNER',
    'before provision#1/1.13 dynamodb:UpdateItem links',
    // the `tell-owner` step's "new key delivered" DM, recorded by the step's checkpoint
    'after provision#1/1.23 slack:chat.postMessage U0OWNER',
    'before provision#1/1.24 dynamodb:TransactWriteItems requests+audit',
  ],
  // The rotation's life on its run (kinds/rotate-key/rotation-life.ts), woken by the schedule's sweep: the owner's
  // "old key deactivated" (run-part#1) and "old key deleted" (run-part#2) DMs are `tell` steps of their own, each
  // recorded by its checkpoint (requests+audit) right after the post.
  'rotate-key (scheduled: old key deactivated, then deleted)': [
    'after run-part#1/1.8 slack:chat.postMessage U0OWNER',
    'before run-part#1/1.9 dynamodb:TransactWriteItems requests+audit',
    'after run-part#2/1.8 slack:chat.postMessage U0OWNER',
    'before run-part#2/1.9 dynamodb:TransactWriteItems requests+audit',
  ],
};

/**
 * Kill points that still end differently, found by the full sweep and not fixed yet: per kind, the point and what
 * differs. Their problems are reported as known instead of failing the test, so that it stays green and shows what is
 * left; a point listed here that the full sweep finds clean fails it (take it off the list).
 */
const KNOWN: Record<string, Record<string, string>> = {};

crashSweep({ bot: () => bot, kills, scenarios: SCENARIOS, start: START, mayDouble: MAY_DOUBLE, known: KNOWN });
