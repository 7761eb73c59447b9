/**
 * Crash at every step (issue 18), the offboarding of an owner with IAM users in two accounts (home and `staging`,
 * reached through STS AssumeRole in moto): the member leaves (Slack's `user_change` with `deleted`), the worker
 * deactivates every active key and deletes the console passwords in several parts (the policy's
 * `runner.maxStepsPerPart` is low, so continuations are killed too), and posts one report. Each run is killed
 * before or after one changing call of the worker (see test/support/kill-points.ts), Lambda's retries and the
 * 15-minute sweeps run, and the end state must be the uninterrupted run's: every key that was active deactivated
 * (one inactive before stays so), the passwords gone, the per-user records, the request and its audit, the report
 * posted once. Then an approver presses Reactivate (not killed in this scenario) and exactly the keys that were
 * active come back. The second scenario kills the Reactivate's own run instead.
 *
 * Default: a sample of SAMPLE_POINTS points per kind; `CRASH_SWEEP=full` (npm run test:crash) every point.
 */
import {
  CreateAccessKeyCommand,
  CreateLoginProfileCommand,
  CreateUserCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, expect } from 'vitest';
import { OFFBOARD_REACTIVATE } from '../../src/blocks/ids.js';
import { leaverRequestId } from '../../src/services/kinds/offboard.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { crashSweep } from '../support/crash-sweep.js';
import {
  type CrashScenario,
  type EndState,
  KillSwitch,
  normalizeText,
  type ScenarioContext,
  snapshotRequest,
} from '../support/kill-points.js';
import {
  createStagingRole,
  hasConsole,
  keyStatuses,
  PATH,
  type Seeded,
  stagingAccount,
  userDeactivated,
} from '../support/leavers-at-size.js';
import { testPolicy } from '../support/policy.js';

const START = new Date('2026-11-23T09:00:00Z');
const MEMBER = 'U0CRASHLEAVER';
/**
 * Four steps per part: the run (18 steps: one per account lists the users outside the managed paths) takes five
 * parts: the `leaver` job and four `run-part` continuations.
 */
const MAX_STEPS_PER_PART = 4;

let bot: TestBot;
const kills = new KillSwitch();
beforeAll(async () => {
  bot = await startTestBot({
    policy: testPolicy({
      users: { path: PATH },
      leavers: { action: 'disable', exclude: [], recoveryDays: 30 },
      accounts: [stagingAccount],
      runner: { maxStepsPerPart: MAX_STEPS_PER_PART },
    }),
    decorateClient: kills.awsMiddleware,
  });
  kills.attach(bot);
});
afterAll(async () => {
  await bot?.stop();
});

/** The member's IAM users: two per account, one with two active keys, one with a key inactive before, two passwords. */
const SPECS = [
  { account: 'home', userName: 'crash-off-a', active: 2, inactive: 0, console: true },
  { account: 'home', userName: 'crash-off-b', active: 1, inactive: 1, console: false },
  { account: 'staging', userName: 'crash-off-c', active: 2, inactive: 0, console: false },
  { account: 'staging', userName: 'crash-off-d', active: 1, inactive: 0, console: true },
] as const;

/** What this run's setup seeded, and each key's name across runs (`staging/crash-off-c#1`: ids differ per run). */
let seeded: Seeded[] = [];
const labels = new Map<string, string>();

/** Seeds the member's users straight in moto (as before the bot), refreshes the projection, marks the member gone. */
async function seedLeaver(b: TestBot): Promise<ScenarioContext> {
  await createStagingRole(b); // the emulator was reset: the role the bot assumes in `staging` is made again
  seeded = [];
  labels.clear();
  for (const spec of SPECS) {
    const iam = b.deps.aws.account(spec.account).iam;
    await iam.send(
      new CreateUserCommand({
        UserName: spec.userName,
        Path: PATH,
        Tags: [{ Key: 'slack-user-id', Value: MEMBER }],
      }),
    );
    const keys: string[] = [];
    for (let i = 0; i < spec.active + spec.inactive; i++) {
      const id = (await iam.send(new CreateAccessKeyCommand({ UserName: spec.userName }))).AccessKey?.AccessKeyId;
      keys.push(id ?? '');
      labels.set(id ?? '', `${spec.account}/${spec.userName}#${i}`);
      labels.set(mask(id ?? ''), `${spec.account}/${spec.userName}#${i}`);
    }
    const inactive = keys.slice(spec.active);
    for (const id of inactive)
      await iam.send(new UpdateAccessKeyCommand({ UserName: spec.userName, AccessKeyId: id, Status: 'Inactive' }));
    if (spec.console)
      await iam.send(
        new CreateLoginProfileCommand({ UserName: spec.userName, Password: `Seeded-${spec.userName}-pw-1!x` }),
      );
    seeded.push({
      account: spec.account,
      userName: spec.userName,
      active: keys.slice(0, spec.active),
      inactive,
      console: spec.console,
    });
  }
  await b.schedule(); // the ownership projection
  await b.drain();
  b.slack.members.deactivate(MEMBER);
  return { userNames: [], approver: 'U0APPROVER1' };
}

/** A key id as the report shows it (`AKIA…WXYZ`). */
const mask = (id: string) => `${id.slice(0, 4)}…${id.slice(-4)}`;

/** Key ids (whole or masked) out of a text, by their name across runs. */
const relabel = (text: string) =>
  text.replace(/\b(AKIA|ASIA|LKIA)([A-Z0-9]{12,}\b|…[A-Z0-9]{4})/g, (id) => labels.get(id) ?? '<unknown key>');

/** The approval channel's last render of the request (the report), key ids by name, then normalized. */
function reportNow(b: TestBot, requestId: string, from: number): string {
  const last = b.slack.calls
    .slice(from)
    .filter(
      (c) =>
        (c.method === 'chat.postMessage' || c.method === 'chat.update') &&
        c.args.channel === b.deps.config.policy.approvals.channel &&
        JSON.stringify(c.args).includes(requestId),
    )
    .at(-1);
  return last ? normalizeText(relabel(JSON.stringify([last.args.text ?? '', last.args.blocks ?? []]))) : 'none';
}

/** Each seeded user's keys' statuses (in seeded order), other keys, and password. */
async function iamOfLeaver(b: TestBot): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const u of seeded) {
    const statuses = await keyStatuses(b, u);
    const mine = [...u.active, ...u.inactive];
    out[`${u.account}/${u.userName}`] = {
      keys: mine.map((id) => statuses[id] ?? 'deleted'),
      otherKeys: Object.keys(statuses).filter((id) => !mine.includes(id)).length,
      console: await hasConsole(b, u),
    };
  }
  return out;
}

/** The offboarding's records as stored, key ids by name. */
const recordsOf = (request: AccessRequest | undefined) =>
  (request?.offboard?.users ?? [])
    .map((u) => ({
      user: `${u.account}/${u.userName}`,
      outcome: u.outcome,
      keys: u.keys.map((k) => labels.get(k) ?? '<unknown key>').sort(),
      console: u.console,
      restored: (u.restoredKeys ?? []).map((k) => labels.get(k) ?? '<unknown key>').sort(),
    }))
    .sort((a, b) => a.user.localeCompare(b.user));

/**
 * The offboarding's end state: the request's (shared snapshot: audit, messages, the report's last render), each
 * user's keys and password, the records Reactivate uses, whether the run ended; audit step names with key ids by
 * name. A part started by the stall sweep (`run-resumed`: a hand-off whose dispatch was killed) is recovery and
 * not compared.
 */
async function offboardSnapshot(
  b: TestBot,
  context: ScenarioContext,
  requestId: string,
  from: number,
  k: KillSwitch,
): Promise<EndState> {
  const state = await snapshotRequest(b, context, requestId, from, k.minted, k.passwords);
  state.audit = [...new Set(state.audit.filter((a) => a !== 'run-resumed').map(relabel))].sort();
  state.approvalMessage = reportNow(b, requestId, from);
  state.iam = await iamOfLeaver(b);
  const request = await b.deps.store.requests.get(requestId);
  state.request = {
    ...state.request,
    records: recordsOf(request),
    cancelled: request?.offboard?.cancelled ?? [],
    reactivation: request?.offboard?.reactivation?.phase ?? null,
    runEnded: Boolean(request?.run && request.run.cursor === request.run.steps.length),
    reportPosted: Boolean(request?.message),
  };
  return state;
}

/** An approver presses Reactivate on the report, and the worker restores. */
async function reactivate(b: TestBot, requestId: string): Promise<void> {
  const request = await b.deps.store.requests.get(requestId);
  const { result } = await b.clickButton({
    userId: 'U0APPROVER1',
    actionId: OFFBOARD_REACTIVATE,
    value: requestId,
    blockId: `offboard_actions_${requestId}`,
    ...(request?.message ? { message: request.message } : {}),
  });
  expect(result.statusCode).toBe(200);
  await b.drain();
}

const SCENARIOS: CrashScenario[] = [
  {
    kind: 'offboard (owner with users in two accounts, 5 parts)',
    setup: seedLeaver,
    async act(b) {
      const { statusCode } = await userDeactivated(b, MEMBER);
      expect(statusCode).toBe(200);
      await b.drain();
      return leaverRequestId(MEMBER);
    },
    // The offboarding's end state, then Reactivate (not killed here) must restore exactly the keys that were active.
    async snapshot(b, context, requestId, from, k) {
      const state = await offboardSnapshot(b, context, requestId, from, k);
      await reactivate(b, requestId);
      const restored = await b.deps.store.requests.get(requestId);
      state.iam = { offboarded: state.iam, reactivated: await iamOfLeaver(b) };
      state.request.afterReactivate = {
        phase: restored?.offboard?.reactivation?.phase ?? null,
        records: recordsOf(restored),
      };
      return state;
    },
  },
  {
    // The offboarding ran uninterrupted in setup; the kill points are those of the Reactivate's run.
    kind: 'offboard Reactivate (keys of two accounts restored)',
    async setup(b) {
      const context = await seedLeaver(b);
      await userDeactivated(b, MEMBER);
      await b.drain();
      expect((await b.deps.store.requests.get(leaverRequestId(MEMBER)))?.status).toBe('done');
      return context;
    },
    async act(b) {
      await reactivate(b, leaverRequestId(MEMBER));
      return leaverRequestId(MEMBER);
    },
    snapshot: offboardSnapshot,
  },
];

/**
 * Kill points where a message is sent twice: the kill falls between a Slack post and the write that records it.
 * - the report in the approval channel, recorded by setMessage right after the post (reportStep): a part killed
 *   between Slack's answer and that write posts it again (the retry's post is the one kept up to date).
 */
const MAY_DOUBLE: Record<string, string[]> = {
  'offboard (owner with users in two accounts, 5 parts)': [
    'after run-part#4/1.2 slack:chat.postMessage C0APPROVALS',
    'before run-part#4/1.3 dynamodb:UpdateItem requests',
  ],
};

/** Kill points that still end differently (found by the full sweep, not fixed yet): point -> what differs. */
const KNOWN: Record<string, Record<string, string>> = {};

crashSweep({
  bot: () => bot,
  kills,
  scenarios: SCENARIOS,
  start: START,
  mayDouble: MAY_DOUBLE,
  known: KNOWN,
  timeout: 90 * 60_000, // the full sweep: about 250 runs of 5 to 15 s on a loaded 2-core machine
});
