/**
 * Crash at every step (issue 18), for delete-user (issue 22): a deletion runs once uninterrupted, from the command and
 * the approval (the user disabled: its active key deactivated, its console password deleted) to the end of the
 * window, woken by the one-minute task (`wake-due-runs`), where everything attached is removed and the user deleted;
 * then, for every call of the worker that changes something, again with the worker killed before and after that call,
 * and the end state must be the same: the user and its virtual MFA device gone, each DM once except between its post
 * and the checkpoint that records it (MAY_DOUBLE). See crash-every-step.test.ts and test/support/kill-points.ts.
 * `npm run test:long` runs every kill point (CRASH_SWEEP=full).
 *
 * And `leavers.deleteAfterDays` (issue 22): a leaver's two disabled users on their deletion day, one nobody kept and
 * one whose key someone turned on again; the daily owner check (not killed) hands the `leaver-deletions` job to the
 * worker, which decides once (one conditional write with its audit event, the report updated) and starts the
 * delete-user request of the one nobody kept, which purges and deletes it. Killed at every changing call of the
 * worker from that job on, the end state must be the same: one user deleted once, the other kept, the decision, the
 * report and both requests' audits.
 */
import {
  AddUserToGroupCommand,
  CreateAccessKeyCommand,
  CreateLoginProfileCommand,
  CreateUserCommand,
  CreateVirtualMFADeviceCommand,
  EnableMFADeviceCommand,
  ListAccessKeysCommand,
  ListVirtualMFADevicesCommand,
  PutUserPolicyCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, expect } from 'vitest';
import { dailyTasks, minuteTasks, runScheduledTasks } from '../../src/jobs/schedule.js';
import { leaverRequestId } from '../../src/services/kinds/offboard.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { changeRequestFor, ensureGroup, existingUser } from '../support/changes.js';
import { crashSweep } from '../support/crash-sweep.js';
import { click } from '../support/create-user.js';
import {
  type CrashScenario,
  type EndState,
  KillSwitch,
  type ScenarioContext,
  settleRequest,
  snapshotRequest,
} from '../support/kill-points.js';
import { testPolicy } from '../support/policy.js';
import { ServiceCredentialStandIn } from '../support/service-credentials.js';

const START = new Date('2026-11-25T09:00:00Z');
const MINUTE = 60_000;
const DAY = 86_400_000;

let bot: TestBot;
const kills = new KillSwitch();
// moto does not implement service-specific credentials: stood in for (see the file)
const serviceCredentials = new ServiceCredentialStandIn();
beforeAll(async () => {
  bot = await startTestBot({
    // a leaver's disabled users deleted 7 days after the offboarding (the leaver-deletions scenario; none in the other)
    policy: testPolicy({ leavers: { action: 'disable', exclude: [], recoveryDays: 30, deleteAfterDays: 7 } }),
    decorateClient: (client) => {
      kills.awsMiddleware(client);
      serviceCredentials.decorate(client);
    },
    members: ['U0OWNER', LEAVER],
  });
  kills.attach(bot);
});
afterAll(async () => {
  await bot?.stop();
});

const LEAVING = 'crash-deleted';
/** The leaver of the leaver-deletions scenario, and its two users: one nobody keeps, one whose key is active again. */
const LEAVER = 'U0LEFT';
const LEAVER_GONE = 'crash-lv-gone';
const LEAVER_KEPT = 'crash-lv-kept';
/** The daily owner check alone (the key scan, the other daily task, has nothing to do with it). */
const ownerCheck = dailyTasks.filter((t) => t.name === 'reconcile-owners');

/** The delete-user requests an offboarding's deletions started (their ids are in its decision). */
async function deletionRequestIds(b: TestBot, offboardingId: string): Promise<string[]> {
  const off = (await b.deps.store.requests.get(offboardingId))?.offboard;
  return (off?.deletions?.users ?? []).map((d) => d.requestId).filter((id): id is string => Boolean(id));
}

/**
 * The leaver-deletions end state: the offboarding's (its audit, the report's last render, the DMs and posts since the
 * act), its decision per user, and each delete-user request it started (status, audit with `deletion:` before each
 * action), the users in IAM.
 */
async function leaverDeletionsSnapshot(
  b: TestBot,
  context: ScenarioContext,
  requestId: string,
  from: number,
  k: KillSwitch,
): Promise<EndState> {
  const state = await snapshotRequest(b, context, requestId, from, k.minted, k.passwords);
  const off = (await b.deps.store.requests.get(requestId))?.offboard;
  state.request.deletions = (off?.deletions?.users ?? []).map((d) => `${d.userName} ${d.outcome} ${d.why ?? ''}`);
  for (const id of await deletionRequestIds(b, requestId)) {
    const deletion = await snapshotRequest(b, { ...context, userNames: [] }, id, from, k.minted, k.passwords);
    state.request[`deletion ${id}`] = deletion.request;
    state.audit.push(...deletion.audit.map((a) => `deletion: ${a}`));
    state.recovery.push(...deletion.recovery.map((a) => `deletion: ${a}`));
  }
  state.iam['service-specific credentials'] = serviceCredentials.byUser.get(LEAVER_GONE)?.length ?? 0;
  // the users' access key ids (in the disabling step's audit lines) differ from run to run
  state.audit = state.audit.map((a) => a.replace(/AKIA[0-9A-Z]{16}/g, 'AKIA…')).sort();
  // and in the report, masked (`AKIA…WXYZ`, normalized: digits as #)
  state.approvalMessage = state.approvalMessage.replace(/AKIA…[0-9A-Z#]{4}/g, 'AKIA…');
  state.recovery.sort();
  return state;
}

/** The one-minute schedule, `ms` after now: once as an invocation the harness numbers, then a minute later. */
async function minuteTicks(b: TestBot, ms: number): Promise<void> {
  b.clock.advance(ms);
  await kills.invoke('schedule', () => b.as('schedule', () => runScheduledTasks(b.deps, minuteTasks)));
  await b.drain();
  b.clock.advance(MINUTE); // the next minute's run: what a killed part left, it wakes again
  await b.as('schedule', () => runScheduledTasks(b.deps, minuteTasks));
  await b.drain();
}

const SCENARIOS: CrashScenario[] = [
  {
    kind: 'delete-user (disabled, then deleted after the window)',
    async setup(b) {
      const iam = b.deps.aws.account().iam;
      serviceCredentials.byUser.clear();
      await existingUser(b, LEAVING, { owner: 'U0OWNER' });
      await iam.send(new CreateAccessKeyCommand({ UserName: LEAVING }));
      const idle = await iam.send(new CreateAccessKeyCommand({ UserName: LEAVING }));
      await iam.send(
        new UpdateAccessKeyCommand({
          UserName: LEAVING,
          AccessKeyId: idle.AccessKey?.AccessKeyId ?? '',
          Status: 'Inactive',
        }),
      );
      await iam.send(new CreateLoginProfileCommand({ UserName: LEAVING, Password: 'Test-Passw0rd-not-secret!' }));
      await ensureGroup(b, 'read-only');
      await iam.send(new AddUserToGroupCommand({ UserName: LEAVING, GroupName: 'read-only' }));
      await iam.send(
        new PutUserPolicyCommand({
          UserName: LEAVING,
          PolicyName: 'inline',
          PolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
          }),
        }),
      );
      const device = await iam.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: LEAVING }));
      await iam.send(
        new EnableMFADeviceCommand({
          UserName: LEAVING,
          SerialNumber: device.VirtualMFADevice?.SerialNumber ?? '',
          AuthenticationCode1: '123456',
          AuthenticationCode2: '654321',
        }),
      );
      serviceCredentials.create(LEAVING);
      return { userNames: [LEAVING], approver: 'U0APPROVER1' };
    },
    async act(b) {
      const { result } = await b.command(`delete-user ${LEAVING} --reason "Moved to OIDC"`, 'U0APPROVER2');
      expect(result.statusCode).toBe(200);
      await b.drain();
      const request = await changeRequestFor(b, LEAVING);
      await click(b, request, 'U0APPROVER1');
      await b.drain();
      await minuteTicks(b, 7 * DAY); // the window's end
      return request.id;
    },
    async snapshot(b, context, requestId, from, k) {
      const state = await snapshotRequest(b, context, requestId, from, k.minted, k.passwords);
      const devices = await b.deps.aws.account().iam.send(new ListVirtualMFADevicesCommand({}));
      state.iam['virtual MFA devices'] = (devices.VirtualMFADevices ?? []).length;
      state.iam['service-specific credentials'] = serviceCredentials.byUser.get(LEAVING)?.length ?? 0;
      // each run makes its own access key: its id, in the disabling step's audit line, differs from run to run
      state.audit = state.audit.map((a) => a.replace(/AKIA[0-9A-Z]{16}/g, 'AKIA…'));
      return state;
    },
  },
  {
    kind: 'leaver-deletions (the users of a leaver on their deletion day: one deleted, one kept)',
    async setup(b) {
      // the leaver's users, made straight in moto (as before the bot), offboarded by the daily check (not killed here)
      const iam = b.deps.aws.account().iam;
      serviceCredentials.byUser.clear();
      const path = b.deps.config.policy.users.path;
      for (const name of [LEAVER_GONE, LEAVER_KEPT]) {
        await iam.send(
          new CreateUserCommand({ UserName: name, Path: path, Tags: [{ Key: 'slack-user-id', Value: LEAVER }] }),
        );
        await iam.send(new CreateAccessKeyCommand({ UserName: name }));
      }
      await iam.send(new CreateLoginProfileCommand({ UserName: LEAVER_GONE, Password: 'Test-Passw0rd-not-secret!' }));
      serviceCredentials.create(LEAVER_GONE);
      await b.schedule(); // the ownership projection
      await b.drain();
      b.slack.members.deactivate(LEAVER);
      b.clock.advance(DAY);
      await b.schedule(ownerCheck); // the daily check finds the leaver gone and offboards it (keys off, password gone)
      await b.drain();
      const offboarding = await b.deps.store.requests.get(leaverRequestId(LEAVER));
      expect(offboarding?.offboard?.deleteAt).toBeTruthy();
      // someone turns the kept user's key on again by hand: the deletions keep it
      const keys = await iam.send(new ListAccessKeysCommand({ UserName: LEAVER_KEPT }));
      await iam.send(
        new UpdateAccessKeyCommand({
          UserName: LEAVER_KEPT,
          AccessKeyId: keys.AccessKeyMetadata?.[0]?.AccessKeyId ?? '',
          Status: 'Active',
        }),
      );
      return { userNames: [LEAVER_GONE, LEAVER_KEPT], approver: 'U0APPROVER1' };
    },
    async act(b) {
      // the deletion day: the daily check (not killed) hands the leaver-deletions job to the worker
      b.clock.advance(7 * DAY);
      await b.schedule(ownerCheck);
      await b.drain();
      return leaverRequestId(LEAVER);
    },
    async settle(b, context, requestId) {
      // the sweeps, then each delete-user request it started settled the same way (an approver's Retry if it failed)
      const settled = await settleRequest(b, context, requestId);
      for (const id of await deletionRequestIds(b, requestId)) {
        const more = await settleRequest(b, context, id);
        settled.humanRetry ||= more.humanRetry;
        settled.sweeps += more.sweeps;
      }
      return settled;
    },
    snapshot: leaverDeletionsSnapshot,
  },
];

/** Filled from the baseline's kill points (CRASH_DEBUG=1): each DM between its post and its step's checkpoint. */
const MAY_DOUBLE: Record<string, string[]> = {
  'delete-user (disabled, then deleted after the window)': [
    // the request's post in the approval channel, recorded where it is (setMessage)
    'after publish-request#1/1.1 slack:chat.postMessage C0APPROVALS',
    'before publish-request#1/1.2 dynamodb:UpdateItem requests',
    // the start (requester told), after the commit the requester's DM and the owner's (with Cancel)
    'after provision#1/1.3 slack:chat.postMessage U0APPROVER2',
    'before provision#1/1.4 dynamodb:TransactWriteItems requests+audit',
    'after provision#1/1.15 slack:chat.postMessage U0APPROVER2',
    'before provision#1/1.16 dynamodb:TransactWriteItems requests+audit',
    'after provision#1/1.17 slack:chat.postMessage U0OWNER',
    'before provision#1/1.18 dynamodb:TransactWriteItems requests+audit',
    // the DMs once deleted (owner, requester), after the approval message's update (deletion-message step)
    'after run-part#1/1.30 slack:chat.postMessage U0OWNER',
    'before run-part#1/1.31 dynamodb:TransactWriteItems requests+audit',
    'after run-part#1/1.32 slack:chat.postMessage U0APPROVER2',
    'before run-part#1/1.33 dynamodb:TransactWriteItems requests+audit',
  ],
};

const KNOWN: Record<string, Record<string, string>> = {};

crashSweep({
  bot: () => bot,
  kills,
  scenarios: SCENARIOS,
  start: START,
  mayDouble: MAY_DOUBLE,
  known: KNOWN,
  timeout: 120 * 60_000,
});
