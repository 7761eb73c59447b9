/**
 * The resumable runner (src/services/runner) on its own, with a kind made for the test whose steps record what they
 * see: it checkpoints after each step in one transaction with the step's audit event, continues in parts (one job
 * per part, whatever the deliveries), refuses a second part while one holds the lease, resumes a killed part from
 * its checkpoint, and fails the request after a few parts in a row make no progress; a `wait` step not yet due
 * sleeps until the sweep wakes it, and a gate's decision adds steps checkpointed with it (decided again, never added
 * twice, when its part is killed before that checkpoint); a failed step makes it undo what the run did. The store is
 * DynamoDB in moto.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import type { Job } from '../../src/jobs/types.js';
import { LEASE_MS, runJob } from '../../src/jobs/worker.js';
import {
  GIVEN_UP,
  MAX_STALLED_PARTS,
  NOT_RUN,
  RUN_LEASE_MS,
  restartStalledRun,
  runNext,
  runPart,
  startRun,
} from '../../src/services/runner/engine.js';
import { resumeStalledRuns } from '../../src/services/runner/sweep.js';
import type { RunKind, StepOutcome } from '../../src/services/runner/types.js';
import type { AccessRequest, RunStep } from '../../src/store/requests.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { auditActions } from '../support/create-user.js';
import { testPolicy } from '../support/policy.js';

let bot: TestBot;
const clock = new ManualClock(new Date());
const MINUTE = 60_000;

/** What each step saw when it ran: its name and the cursor stored in DynamoDB at that moment. */
let seen: { op: string; storedCursor: number }[];
/** The step that never answers (its part is killed there), if any. */
let hangAt: string | undefined;
let told: string[];
/** Steps that fail, and steps that find their work already done (skipped). */
let failing: string[];
let skipping: string[];
let hung: () => void;
let hungOnce: Promise<void>;
const armHang = (op: string | undefined) => {
  hangAt = op;
  hungOnce = new Promise<void>((resolve) => {
    hung = resolve;
  });
};

/** The steps of the test kind's runs (five `op` steps and the commit unless a test says otherwise). */
let planned: RunStep[];
const opSteps = (...ops: string[]): RunStep[] => ops.map((op) => ({ t: 'op' as const, op, args: { name: op } }));
const commitStep: RunStep = { t: 'commit', op: 'commit', args: {} };

/**
 * A kind whose steps record what they see. `wait` (args.until): sleeps until then. `decide` (a gate): adds the steps
 * `x` and `y`. The step named by `hangAt` never answers (after deciding, for a gate); those in `failing` fail, those
 * in `skipping` are skipped. The undo of a step `a` is the step `undo-a`.
 */
const testKind: RunKind = {
  async plan() {
    return { steps: planned };
  },
  async step(deps, request, step) {
    const stored = await deps.store.requests.get(request.id);
    seen.push({ op: step.op, storedCursor: stored?.run?.cursor ?? -1 });
    if (step.t === 'wait' && Date.parse(step.args.until ?? '') > deps.clock.now().getTime())
      return { result: 'done', waitUntil: new Date(step.args.until ?? '') };
    const then = opSteps('x', 'y');
    let outcome: StepOutcome =
      step.op === 'decide'
        ? { result: 'done', data: { decision: 'x and y' }, then }
        : { result: 'done', data: { did: step.op } };
    if (failing.includes(step.op)) outcome = { result: 'failed', detail: 'TestError' };
    if (skipping.includes(step.op)) outcome = { result: 'skipped', detail: 'already so' };
    if (step.op === hangAt) {
      hung();
      return new Promise(() => {}); // the invocation gives no answer, as when Lambda times out
    }
    return outcome;
  },
  describe: (step) => `test step ${step.op}`,
  undo: (step) => ({ t: 'op', op: `undo-${step.op}`, args: { name: `undo-${step.op}` } }),
  commit: () => ({ changes: {}, audit: { action: 'test-committed', detail: {} } }),
  stopped: (_deps, _request, reason) => ({ error: reason }),
  async tellStopped(_deps, request) {
    told.push(request.id);
  },
};

/** Run-part jobs as the worker runs them (claimed by id), with the test's kind; a killed part stops answering. */
let partJobs: Job[];
beforeAll(async () => {
  bot = await startTestBot({ clock, policy: testPolicy({ runner: { maxStepsPerPart: 2 } }) });
  bot.dispatcher.setRunner(async (job) => {
    if (job.type !== 'run-part') return runJob(bot.deps, job);
    partJobs.push(job);
    if (!(await bot.deps.store.jobs.claim(job.id, job.type, clock.now(), LEASE_MS))) return 'skipped';
    const { requestId, attempt, part } = job.payload as { requestId: string; attempt: number; part: number };
    const outcome = await Promise.race([
      runPart(bot.deps, testKind, requestId, attempt, part),
      hungOnce.then(() => 'hung' as const),
    ]);
    if (outcome !== 'hung') await bot.deps.store.jobs.complete(job.id, clock.now());
    return outcome;
  });
});
afterAll(async () => {
  await bot.stop();
});
beforeEach(() => {
  planned = [...opSteps('a', 'b', 'c', 'd', 'e'), commitStep];
  seen = [];
  told = [];
  failing = [];
  skipping = [];
  partJobs = [];
  armHang(undefined);
});

let seq = 0;
async function approvedRequest(): Promise<AccessRequest> {
  const now = clock.now();
  const request: AccessRequest = {
    id: `req-runner${++seq}`,
    kind: 'add-to-group',
    status: 'approved',
    requester: 'U0REQUESTER',
    recipient: 'U0REQUESTER',
    account: 'home',
    accountId: '',
    userName: 'runner-bot',
    path: '/iam-slack-bot/',
    groups: [],
    accessType: 'keys',
    tags: [],
    justification: 'test of the runner',
    approvals: [],
    attempt: 1,
    credentialIssue: 0,
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + 72 * 60 * MINUTE).toISOString(),
    updatedAt: now.toISOString(),
    version: 0,
  };
  await bot.deps.store.requests.create(request);
  return request;
}

const stored = async (id: string) => (await bot.deps.store.requests.get(id)) as AccessRequest;

describe('the resumable runner', () => {
  it('holds a run exactly as long as the worker holds a job, so a retried part finds both free', () => {
    expect(RUN_LEASE_MS).toBe(LEASE_MS);
  });

  it('checkpoints after each step, with the step’s result and audit event, before the next step runs', async () => {
    const request = await approvedRequest();

    await startRun(bot.deps, testKind, request);
    await bot.drain();

    const done = await stored(request.id);
    const events = await bot.deps.store.audit.list(`request#${request.id}`);
    expect(seen).toEqual(['a', 'b', 'c', 'd', 'e'].map((op, i) => ({ op, storedCursor: i })));
    expect(done.status).toBe('done');
    expect(done.run?.cursor).toBe(6);
    expect(done.run?.steps.map((s) => [s.op, s.result, s.data?.did])).toEqual([
      ['a', 'done', 'a'],
      ['b', 'done', 'b'],
      ['c', 'done', 'c'],
      ['d', 'done', 'd'],
      ['e', 'done', 'e'],
      ['commit', 'done', undefined],
    ]);
    expect(events.filter((e) => e.action === 'step-done').map((e) => e.detail.step)).toEqual(
      ['a', 'b', 'c', 'd', 'e'].map((op) => `test step ${op}`),
    );
    expect(events.map((e) => e.action)).toContain('test-committed');
  });

  it('continues in parts of the configured size, each handed to the worker once however often it is delivered', async () => {
    const request = await approvedRequest();

    await startRun(bot.deps, testKind, request);
    await bot.drain();
    for (const job of [...partJobs]) await bot.dispatcher.dispatch(job); // Lambda delivers each again
    await bot.drain();

    const done = await stored(request.id);
    expect(partJobs.map((j) => j.id)).toEqual([
      `run:${request.id}:1:2`,
      `run:${request.id}:1:3`,
      `run:${request.id}:1:2`,
      `run:${request.id}:1:3`,
    ]);
    expect(seen.map((s) => s.op)).toEqual(['a', 'b', 'c', 'd', 'e']); // the repeats ran nothing
    expect(done.run?.part).toBe(3);
    expect((await auditActions(bot, request.id)).filter((a) => a === 'run-continued')).toHaveLength(2);
  });

  it('refuses a second part while a part holds the lease, and resumes a killed part from its checkpoint', async () => {
    const request = await approvedRequest();
    armHang('c'); // part 2 dies at its first step

    await startRun(bot.deps, testKind, request);
    await hungOnce;
    await bot.drain();
    const dead = await stored(request.id);
    const whileLeased = await runPart(bot.deps, testKind, request.id, 1, 2);
    armHang(undefined);
    clock.advance(RUN_LEASE_MS + MINUTE); // Lambda retries the timed-out part after its lease
    const retried = await runPart(bot.deps, testKind, request.id, 1, 2);
    await bot.drain();

    const done = await stored(request.id);
    expect(dead.run?.cursor).toBe(2);
    expect(dead.run?.part).toBe(2);
    expect(whileLeased).toBe('refused');
    expect(retried).toBe('continued');
    expect(seen.map((s) => s.op)).toEqual(['a', 'b', 'c', 'c', 'd', 'e']); // c again (no checkpoint), a and b not
    expect(done.status).toBe('done');
  });

  it('fails the request, and tells, after parts in a row stop at the same step', async () => {
    const request = await approvedRequest();
    armHang('c');
    await startRun(bot.deps, testKind, request);
    await hungOnce;

    const restarts: (string | undefined)[] = [];
    for (let i = 0; i <= MAX_STALLED_PARTS; i++) {
      clock.advance(16 * MINUTE);
      armHang('c');
      restarts.push(await restartStalledRun(bot.deps, testKind, await stored(request.id)));
      if (restarts.at(-1) === 'resumed') await hungOnce;
    }

    const failed = await stored(request.id);
    expect(restarts).toEqual([...Array(MAX_STALLED_PARTS).fill('resumed'), 'failed']);
    expect(failed.status).toBe('failed');
    expect(failed.error).toContain('test step c');
    expect(told).toEqual([request.id]);
    expect(await auditActions(bot, request.id)).toContain('provisioning-stalled');
  });

  it('keeps an ended request’s outcome when only its tail stalls: gives up the tail, fails nothing, tells nobody', async () => {
    // Prepare: a run that ended by its commit, whose notification after it never answers
    const request = await approvedRequest();
    planned = [
      ...opSteps('a'),
      commitStep,
      { t: 'notify', op: 'tell', args: {} },
      { t: 'notify', op: 'tell-2', args: {} },
    ];
    armHang('tell');
    await startRun(bot.deps, testKind, request);
    await hungOnce;

    // Act: the stall sweep restarts it until it gives up
    const restarts: (string | undefined)[] = [];
    for (let i = 0; i <= MAX_STALLED_PARTS; i++) {
      clock.advance(16 * MINUTE);
      armHang('tell');
      restarts.push(await restartStalledRun(bot.deps, testKind, await stored(request.id)));
      if (restarts.at(-1) === 'resumed') await hungOnce;
    }

    // Assess: still done, the tail recorded as given up, nobody told of a failure; the sweep leaves it alone after
    const after = await stored(request.id);
    expect(restarts).toEqual([...Array(MAX_STALLED_PARTS).fill('resumed'), 'ended']);
    expect(after.status).toBe('done');
    expect(after.error).toBeUndefined();
    expect(after.run?.cursor).toBe(4);
    expect(after.run?.steps.slice(2).map((s) => [s.op, s.result, s.detail])).toEqual([
      ['tell', 'skipped', GIVEN_UP],
      ['tell-2', 'skipped', GIVEN_UP],
    ]);
    expect(told).toEqual([]);
    const actions = await auditActions(bot, request.id);
    expect(actions).toContain('run-tail-stalled');
    expect(actions).not.toContain('provisioning-stalled');
    clock.advance(16 * MINUTE);
    expect(await restartStalledRun(bot.deps, testKind, after)).toBeUndefined();
  });

  it('undoes, newest first, exactly the steps the run did before a step failed, and records the rest as not run', async () => {
    // Prepare: `s` finds its work done already (nothing to undo), `f` fails, and the undo of `b` fails too
    const request = await approvedRequest();
    planned = [...opSteps('a', 's', 'b', 'f', 'c'), commitStep];
    skipping = ['s'];
    failing = ['f', 'undo-b'];

    // Act
    await startRun(bot.deps, testKind, request);
    await bot.drain();

    // Assess
    const failed = await stored(request.id);
    expect(seen.map((s) => s.op)).toEqual(['a', 's', 'b', 'f', 'undo-b', 'undo-a']);
    expect(failed.status).toBe('failed');
    expect(failed.run?.steps.map((s) => [s.t, s.op, s.result, s.args.undoes, s.detail])).toEqual([
      ['op', 'a', 'done', undefined, undefined],
      ['op', 's', 'skipped', undefined, 'already so'],
      ['op', 'b', 'done', undefined, undefined],
      ['op', 'f', 'failed', undefined, 'TestError'],
      ['op', 'c', 'skipped', undefined, NOT_RUN],
      ['undo', 'undo-b', 'failed', '2', 'TestError'],
      ['undo', 'undo-a', 'done', '0', undefined],
      ['commit', 'commit', 'done', undefined, undefined],
    ]);
    const actions = await auditActions(bot, request.id);
    expect(actions.filter((a) => a.startsWith('step-'))).toEqual([
      'step-done',
      'step-skipped',
      'step-done',
      'step-failed',
      'step-undo-failed',
      'step-undone',
    ]);
  });

  it('leaves the cursor on a `wait` step not yet due, and the sweep wakes the run once it is due', async () => {
    const request = await approvedRequest();
    const until = new Date(clock.now().getTime() + 60 * MINUTE);
    planned = [
      ...opSteps('a'),
      { t: 'wait', op: 'wait', args: { until: until.toISOString() } },
      ...opSteps('b'),
      commitStep,
    ];
    const onlyThis = (r: AccessRequest) => (r.id === request.id ? testKind : undefined);

    const first = await startRun(bot.deps, testKind, request);
    const asleep = await stored(request.id);
    clock.advance(30 * MINUTE); // the stall time is over, the wait is not
    const early = await resumeStalledRuns(bot.deps, onlyThis);
    await bot.drain();
    const stillAsleep = await stored(request.id);
    clock.advance(31 * MINUTE);
    const due = await resumeStalledRuns(bot.deps, onlyThis);
    await bot.drain();

    const done = await stored(request.id);
    expect(first).toBe('waiting');
    expect(asleep.run?.cursor).toBe(1);
    expect(asleep.run?.wakeAt).toBe(until.toISOString());
    expect(asleep.run?.leaseUntil).toBe(0);
    expect(early).toEqual({ resumed: 0, failed: 0 });
    expect(stillAsleep.run?.cursor).toBe(1);
    expect(stillAsleep.status).toBe('provisioning');
    expect(due).toEqual({ resumed: 1, failed: 0 });
    expect(seen.map((s) => s.op)).toEqual(['a', 'wait', 'wait', 'b']);
    expect(done.status).toBe('done');
    expect(done.run?.wakeAt).toBeUndefined();
    expect(done.run?.steps.map((s) => [s.op, s.result])).toEqual([
      ['a', 'done'],
      ['wait', 'done'],
      ['b', 'done'],
      ['commit', 'done'],
    ]);
  });

  it('runs a signal’s steps next, before the `wait` step an ended run sleeps on, which then waits again', async () => {
    // Prepare: a run that ended by its commit and sleeps on a wait step of its tail (as a rotation's grace period)
    const request = await approvedRequest();
    const until = new Date(clock.now().getTime() + 60 * MINUTE);
    planned = [
      ...opSteps('a'),
      commitStep,
      { t: 'wait', op: 'wait', args: { until: until.toISOString() } },
      ...opSteps('b'),
    ];
    const first = await startRun(bot.deps, testKind, request);
    await bot.drain(); // parts of 2 steps: the second one sleeps
    const asleep = await stored(request.id);

    // Act: a signal (as /iam reissue) while it sleeps
    const signalled = await runNext(bot.deps, asleep, opSteps('s1', 's2'), {}, () => []);
    await bot.drain();

    // Assess: the signal's steps ran at once, in a new part; the run sleeps on its wait step again
    const after = await stored(request.id);
    expect(first).toBe('continued');
    expect(asleep.status).toBe('done');
    expect(asleep.run?.wakeAt).toBe(until.toISOString());
    expect(signalled?.run?.wakeAt).toBeUndefined();
    expect(seen.map((s) => s.op)).toEqual(['a', 'wait', 's1', 's2', 'wait']);
    expect(after.run?.steps.map((s) => [s.op, s.result ?? null])).toEqual([
      ['a', 'done'],
      ['commit', 'done'],
      ['s1', 'done'],
      ['s2', 'done'],
      ['wait', null],
      ['b', null],
    ]);
    expect(after.run?.cursor).toBe(4);
    expect(after.run?.wakeAt).toBe(until.toISOString());
    // part 2 slept; the signal's part 3 ran s1 and s2 and handed the wait to part 4
    expect(partJobs.map((j) => j.id)).toEqual([2, 3, 4].map((part) => `run:${request.id}:1:${part}`));
  });

  it('checkpoints the steps a gate’s decision adds with its result, and runs them next', async () => {
    const request = await approvedRequest();
    planned = [...opSteps('a', 'b'), { t: 'gate', op: 'decide', args: {} }, commitStep];
    armHang('x'); // the part dies at the first added step: what the gate's checkpoint holds is stored

    await startRun(bot.deps, testKind, request);
    await hungOnce;
    await bot.drain();
    const afterGate = await stored(request.id);
    armHang(undefined);
    clock.advance(RUN_LEASE_MS + MINUTE);
    await runPart(bot.deps, testKind, request.id, 1, 2);
    await bot.drain();

    const done = await stored(request.id);
    expect(afterGate.run?.cursor).toBe(3);
    expect(afterGate.run?.steps.map((s) => [s.op, s.result ?? null])).toEqual([
      ['a', 'done'],
      ['b', 'done'],
      ['decide', 'done'],
      ['x', null],
      ['y', null],
      ['commit', null],
    ]);
    expect(afterGate.run?.steps[2]?.data).toEqual({ decision: 'x and y' });
    expect(seen.map((s) => s.op)).toEqual(['a', 'b', 'decide', 'x', 'x', 'y']);
    expect(done.status).toBe('done');
    expect(done.run?.steps.map((s) => s.op)).toEqual(['a', 'b', 'decide', 'x', 'y', 'commit']);
    expect((await auditActions(bot, request.id)).filter((a) => a === 'step-decided')).toHaveLength(1);
  });

  it('decides a gate again when its part is killed after the decision, before its checkpoint, adding its steps once', async () => {
    const request = await approvedRequest();
    planned = [...opSteps('a', 'b'), { t: 'gate', op: 'decide', args: {} }, commitStep];
    armHang('decide'); // decided, then the part dies before the checkpoint

    await startRun(bot.deps, testKind, request);
    await hungOnce;
    await bot.drain();
    const dead = await stored(request.id);
    armHang(undefined);
    clock.advance(RUN_LEASE_MS + MINUTE); // Lambda retries the timed-out part
    await runPart(bot.deps, testKind, request.id, 1, 2);
    await bot.drain();

    const done = await stored(request.id);
    expect(dead.run?.cursor).toBe(2);
    expect(dead.run?.steps.map((s) => s.op)).toEqual(['a', 'b', 'decide', 'commit']); // nothing added yet
    expect(seen.map((s) => s.op)).toEqual(['a', 'b', 'decide', 'decide', 'x', 'y']);
    expect(done.status).toBe('done');
    expect(done.run?.steps.map((s) => [s.op, s.result])).toEqual([
      ['a', 'done'],
      ['b', 'done'],
      ['decide', 'done'],
      ['x', 'done'],
      ['y', 'done'],
      ['commit', 'done'],
    ]);
    expect((await auditActions(bot, request.id)).filter((a) => a === 'step-decided')).toHaveLength(1);
  });
});
