/**
 * Crash at every step (issue 18), for temporary-membership (issue 21): a 1-hour grant runs once uninterrupted, from
 * the command and the approval to the notice before its end and the removal at its end, both woken by the
 * one-minute task (`wake-due-runs`); then, for every call of the worker that changes something, again with the
 * worker killed before and after that call, and the end state must be the same: one addition, one removal, each DM
 * once except between its post and the checkpoint that records it (MAY_DOUBLE). See crash-every-step.test.ts and
 * test/support/kill-points.ts. `npm run test:long` runs every kill point (CRASH_SWEEP=full).
 *
 * The extension through approval: the Extend click and the Approve click are invocations of the Slack function, killed
 * at their changing calls too (a killed click is never answered, so its clicker clicks again 3 minutes later): the
 * ask is recorded with its post claimed in one conditional write, posted, its post recorded; the approval's write
 * wakes the run, which updates the ask's post and DMs the asker (steps of the run), then the new end.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { minuteTasks, runScheduledTasks } from '../../src/jobs/schedule.js';
import { GRANT_EXTENSION_APPROVE } from '../../src/kinds/temporary-membership/extension.js';
import { GRANT_EXTEND } from '../../src/kinds/temporary-membership/messages.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { changeRequestFor, existingUser } from '../support/changes.js';
import { crashSweep } from '../support/crash-sweep.js';
import { click } from '../support/create-user.js';
import { type CrashScenario, KillSwitch } from '../support/kill-points.js';
import { testPolicy } from '../support/policy.js';

const START = new Date('2026-11-25T09:00:00Z');
const MINUTE = 60_000;

let bot: TestBot;
const kills = new KillSwitch();
beforeAll(async () => {
  const policy = testPolicy();
  bot = await startTestBot({
    policy: {
      ...policy,
      groups: [
        ...policy.groups,
        { name: 'emergency', description: 'Break-glass', breakGlass: { maxDuration: '1h', reviewWithin: '2h' } },
        { name: 'audited', description: 'Extensions approved', extensionNeedsApproval: true, maxExtensions: 1 },
      ],
    },
    decorateClient: kills.awsMiddleware,
    members: ['U0OWNER'],
  });
  kills.attach(bot);
});
afterAll(async () => {
  await bot?.stop();
});

const MEMBER = 'crash-granted';
const GLASS = 'crash-glass';
const EXTENDED = 'crash-extended';

/** The one-minute schedule, `minutes` after now: once as an invocation the harness numbers, then a minute later. */
async function minuteTicks(b: TestBot, minutes: number): Promise<void> {
  b.clock.advance(minutes * MINUTE);
  await kills.invoke('schedule', () => b.as('schedule', () => runScheduledTasks(b.deps, minuteTasks)));
  await b.drain();
  b.clock.advance(MINUTE); // the next minute's run: what a killed part left, it wakes again
  await b.as('schedule', () => runScheduledTasks(b.deps, minuteTasks));
  await b.drain();
}

/**
 * A click in Slack as one invocation of the Slack function the harness may kill (`<name>#1/1`): a killed click never
 * answers (Slack shows the clicker an error), so its clicker clicks again a few minutes later, as a real one would.
 */
async function clickAgainIfKilled(b: TestBot, name: string, userId: string, actionId: string, value: string) {
  const press = () => b.clickButton({ userId, actionId, value, message: { channel: userId, ts: '1700000001.000100' } });
  const outcome = await kills.invoke(name, press);
  await b.drain();
  if (outcome === 'ok') return;
  b.clock.advance(3 * MINUTE); // past EXTENSION_POST_CLAIM_MS: a post lost after its claim may be posted again
  await press();
  await b.drain();
}

/** The one-minute schedule at `minutes` after `start` (or now, if a recovery moved the clock past it), as minuteTicks. */
async function minuteTicksAt(b: TestBot, start: number, minutes: number): Promise<void> {
  await minuteTicks(b, Math.max(0, (start + minutes * MINUTE - b.clock.now().getTime()) / MINUTE));
}

const SCENARIOS: CrashScenario[] = [
  {
    kind: 'temporary-membership (1 hour: added, notice, removed)',
    async setup(b) {
      await existingUser(b, MEMBER, { owner: 'U0OWNER' });
      return { userNames: [MEMBER], approver: 'U0APPROVER1' };
    },
    async act(b) {
      const { result } = await b.command(
        `add-to-group ${MEMBER} ci-deployers --for 1h --reason "Hotfix"`,
        'U0REQUESTER',
      );
      expect(result.statusCode).toBe(200);
      await b.drain();
      const request = await changeRequestFor(b, MEMBER);
      await click(b, request, 'U0APPROVER1');
      await b.drain();
      await minuteTicks(b, 46); // the notice before the end (15 minutes before)
      await minuteTicks(b, 15); // the end
      return request.id;
    },
  },
  {
    kind: 'temporary-membership break-glass (1 hour: added at once, posted, notice, removed, escalated)',
    async setup(b) {
      await existingUser(b, GLASS, { owner: 'U0OWNER' });
      return { userNames: [GLASS], approver: 'U0APPROVER1' };
    },
    async act(b) {
      const { result } = await b.command(
        `add-to-group ${GLASS} emergency --for 1h --break-glass --reason "Prod down"`,
        'U0OWNER',
      );
      expect(result.statusCode).toBe(200);
      await b.drain();
      const request = await changeRequestFor(b, GLASS);
      await minuteTicks(b, 46); // the notice before the end
      await minuteTicks(b, 15); // the end
      await minuteTicks(b, 60); // not reviewed within 2 hours: the escalation
      return request.id;
    },
  },
  {
    // the grant itself is added in setup (its kill points are the first scenario's): here, from the Extend click
    kind: 'temporary-membership extension through approval (Extend asks once, approved, extended end)',
    async setup(b) {
      await existingUser(b, EXTENDED, { owner: 'U0OWNER' });
      const { result } = await b.command(`add-to-group ${EXTENDED} audited --for 1h --reason "Hotfix"`, 'U0REQUESTER');
      expect(result.statusCode).toBe(200);
      await b.drain();
      await click(b, await changeRequestFor(b, EXTENDED), 'U0APPROVER1');
      await b.drain();
      return { userNames: [EXTENDED], approver: 'U0APPROVER1' };
    },
    async act(b) {
      const request = await changeRequestFor(b, EXTENDED);
      const start = b.clock.now().getTime();
      const endsAt = request.grant?.endsAt ?? '';
      expect(endsAt).not.toBe('');
      b.clock.advance(10 * MINUTE);
      // the owner's Extend: the ask recorded with its post claimed (one conditional write), posted, its post recorded
      await clickAgainIfKilled(b, 'extend-click', 'U0OWNER', GRANT_EXTEND, `${request.id}|${endsAt}`);
      b.clock.advance(2 * MINUTE);
      // an approver's Approve on the ask: the end moves by an hour, the run woken, the ask's post updated, the owner told
      await clickAgainIfKilled(b, 'approve-click', 'U0APPROVER2', GRANT_EXTENSION_APPROVE, `${request.id}|${endsAt}`);
      await minuteTicksAt(b, start, 106); // the notice before the new end (15 minutes before)
      await minuteTicksAt(b, start, 121); // the new end
      return request.id;
    },
  },
];

/** Filled from the baseline's kill points (CRASH_DEBUG=1): each DM between its post and its step's checkpoint. */
const MAY_DOUBLE: Record<string, string[]> = {
  'temporary-membership (1 hour: added, notice, removed)': [
    // the request's post in the approval channel, recorded where it is (setMessage); before it, the worker records
    // what its IAM check learned (account id, path, owner, plan: the inline command leaves that check to the worker)
    'after publish-request#1/1.2 slack:chat.postMessage C0APPROVALS',
    'before publish-request#1/1.3 dynamodb:UpdateItem requests',
    // the change run's DMs: the start (requester), after the commit the requester's and the owner's ("until when")
    'after provision#1/1.3 slack:chat.postMessage U0REQUESTER',
    'before provision#1/1.4 dynamodb:TransactWriteItems requests+audit',
    'after provision#1/1.13 slack:chat.postMessage U0REQUESTER',
    'before provision#1/1.14 dynamodb:TransactWriteItems requests+audit',
    'after provision#1/1.15 slack:chat.postMessage U0OWNER',
    'before provision#1/1.16 dynamodb:TransactWriteItems requests+audit',
    // the notices before the end (owner, requester), each a step recorded by its checkpoint
    'after run-part#1/1.3 slack:chat.postMessage U0OWNER',
    'before run-part#1/1.4 dynamodb:TransactWriteItems requests+audit',
    'after run-part#1/1.5 slack:chat.postMessage U0REQUESTER',
    'before run-part#1/1.6 dynamodb:TransactWriteItems requests+audit',
    // the DMs at the end (owner, requester)
    'after run-part#2/1.9 slack:chat.postMessage U0OWNER',
    'before run-part#2/1.10 dynamodb:TransactWriteItems requests+audit',
    'after run-part#2/1.11 slack:chat.postMessage U0REQUESTER',
    'before run-part#2/1.12 dynamodb:TransactWriteItems requests+audit',
  ],
  'temporary-membership break-glass (1 hour: added at once, posted, notice, removed, escalated)': [
    // the start DM, then the owner's (requester's) DM once added, and the loud post in the approval channel
    'after provision#1/1.2 slack:chat.postMessage U0OWNER',
    'before provision#1/1.3 dynamodb:TransactWriteItems requests+audit',
    'after provision#1/1.11 slack:chat.postMessage U0OWNER',
    'before provision#1/1.12 dynamodb:TransactWriteItems requests+audit',
    'after provision#1/1.13 slack:chat.postMessage C0APPROVALS',
    'before provision#1/1.14 dynamodb:TransactWriteItems requests+audit',
    // the notice before the end, the DM at the end (the owner is the requester: one each)
    'after run-part#1/1.3 slack:chat.postMessage U0OWNER',
    'before run-part#1/1.4 dynamodb:TransactWriteItems requests+audit',
    'after run-part#2/1.9 slack:chat.postMessage U0OWNER',
    'before run-part#2/1.10 dynamodb:TransactWriteItems requests+audit',
    // the escalation, not reviewed within 2 hours
    'after run-part#3/1.3 slack:chat.postMessage C0APPROVALS',
    'before run-part#3/1.4 dynamodb:TransactWriteItems requests+audit',
  ],
  'temporary-membership extension through approval (Extend asks once, approved, extended end)': [
    // the ask's post, killed before its place was recorded: the owner's next Extend (3 minutes later, past the claim's
    // 2 minutes) posts it again; the first post stays in the channel, its buttons deciding the same ask
    'after extend-click#1/1.1 slack:chat.postMessage C0APPROVALS',
    'before extend-click#1/1.2 dynamodb:UpdateItem requests',
    // the approval told by the woken run: the asker's DM (the post's update is an update, never doubled)
    'after run-part#1/1.5 slack:chat.postMessage U0OWNER',
    'before run-part#1/1.6 dynamodb:TransactWriteItems requests+audit',
    // the notices before the new end (owner, requester), then the DMs at the end
    'after run-part#2/1.3 slack:chat.postMessage U0OWNER',
    'before run-part#2/1.4 dynamodb:TransactWriteItems requests+audit',
    'after run-part#2/1.5 slack:chat.postMessage U0REQUESTER',
    'before run-part#2/1.6 dynamodb:TransactWriteItems requests+audit',
    'after run-part#3/1.9 slack:chat.postMessage U0OWNER',
    'before run-part#3/1.10 dynamodb:TransactWriteItems requests+audit',
    'after run-part#3/1.11 slack:chat.postMessage U0REQUESTER',
    'before run-part#3/1.12 dynamodb:TransactWriteItems requests+audit',
  ],
};

const KNOWN: Record<string, Record<string, string>> = {};

// 70, 61 and 44 kill points, each killed before and after: about 30 minutes each on a loaded machine (the extension's
// 88 pairs took 10 minutes at load 10-13), more than the default
crashSweep({
  bot: () => bot,
  kills,
  scenarios: SCENARIOS,
  start: START,
  mayDouble: MAY_DOUBLE,
  known: KNOWN,
  timeout: 90 * 60_000,
});
