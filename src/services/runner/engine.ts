/**
 * The resumable runner: runs a request's plan of steps in parts of the worker. A part leases the request (a
 * conditional write), runs steps from the cursor and, after each one, writes a checkpoint (the cursor, the step's
 * result and the kind's record of it) in one DynamoDB transaction with the step's audit event (a step the kind lets
 * defer it, RunKind.deferCheckpoint, has it written in the next step's transaction, with its own event). Before the part's
 * budget runs out (`runner.partBudgetSeconds` counted from the worker invocation's start on the injected clock: no
 * step is started that the slowest one so far says would end past it; or `runner.maxStepsPerPart` steps) it hands the
 * rest to the next part: a job whose id is derived from the request, its attempt and the part number, so a repeated
 * delivery is skipped by the worker's claim. A killed part resumes from its checkpoint when Lambda retries it (the lease has run
 * out by then) or when the stall sweep starts the next part (see sweep.ts). For a kind that says how to undo a step
 * (RunKind.undo), a failed step before the commit makes it undo, newest first, exactly the steps its run did (the
 * recorded results say which), in that step's checkpoint. Kind-agnostic: what a step does is the kind's (see RunKind).
 */
import type { Deps } from '../../deps.js';
import { invocationStartedAt } from '../../invocation.js';
import type { Job } from '../../jobs/types.js';
import { logger } from '../../logger.js';
import type { AccessRequest, RunState, RunStep, TransactionItem } from '../../store/requests.js';
import { auditEvent } from '../requests.js';
import { inRunTail } from './state.js';
import type { AuditDetail, RequestChanges, RunKind, RunOptions, StepOutcome } from './types.js';

/**
 * How long a part holds a run: as long as the worker's job claim (LEASE_MS in src/jobs/worker.ts), a little more
 * than its 60-second timeout. A part never renews it, so when Lambda retries a killed part both have run out.
 */
export const RUN_LEASE_MS = 90_000;

/** How many parts the stall sweep starts in a row without the cursor moving before it fails the request. */
export const MAX_STALLED_PARTS = 3;

/** What a call of the runner came to. */
export type PartOutcome =
  /** every step ran (the request ended) */
  | 'finished'
  /** the part's budget ran out: the next part was handed to the worker */
  | 'continued'
  /** a `wait` step is not due yet */
  | 'waiting'
  /** nothing to do: no such run, another part's turn, or the run is over */
  | 'skipped'
  /** another part holds the run (its lease has not run out) */
  | 'refused'
  /** the part lost its lease midway (a successor took over): it stopped */
  | 'lost';

/** The worker job that runs part `part` of a request's run (attempt `attempt`). */
export function runPartJob(requestId: string, attempt: number, part: number): Job {
  return { id: `run:${requestId}:${attempt}:${part}`, type: 'run-part', payload: { requestId, attempt, part } };
}

/** Whether a run has steps left. */
export const isUnfinished = (run: RunState | undefined): run is RunState =>
  run !== undefined && run.cursor < run.steps.length;

/**
 * Whether a request's run has steps left that may run now and no part holds it (its lease ran out, or it was handed
 * off): the request is provisioning, or has ended by the run's commit (its tail, e.g. the report, is left).
 */
export function isIdle(request: AccessRequest, now: Date): boolean {
  const run = request.run;
  return (
    isUnfinished(run) &&
    run.attempt === request.attempt &&
    run.leaseUntil <= now.getTime() &&
    (request.status === 'provisioning' || inRunTail(run))
  );
}

/**
 * Starts the run of an approved request (or one left `provisioning` by an earlier attempt's run): asks the kind for
 * its plan (given `options`, how the run was started), then in one conditional write with the `provisioning-started`
 * audit event stores the steps, the kind's changes and the lease of part 1 (status `provisioning`), and runs part 1
 * here. Of two deliveries one starts it: the other is `skipped`.
 */
export async function startRun(
  deps: Deps,
  kind: RunKind,
  request: AccessRequest,
  options: RunOptions = {},
): Promise<PartOutcome> {
  const { steps, changes, remove = [] } = await kind.plan(deps, request, options);
  const now = deps.clock.now();
  const run: RunState = {
    attempt: request.attempt,
    steps,
    cursor: 0,
    part: 1,
    leaseUntil: now.getTime() + RUN_LEASE_MS,
    seq: 0,
  };
  const next = await deps.store.requests.update(
    request,
    { ...changes, status: 'provisioning', run },
    now,
    remove,
    (n) => [audit(deps, n, 'provisioning-started', { steps: steps.length })],
  );
  if (!next) return 'skipped';
  return runFrom(deps, kind, next, 1, run.leaseUntil);
}

/**
 * Runs part `part` of a request's run: skipped unless it is that run's current part with steps left; refused while
 * another invocation holds the lease; otherwise takes the lease (a conditional write) and runs from the cursor.
 */
export async function runPart(
  deps: Deps,
  kind: RunKind,
  requestId: string,
  attempt: number,
  part: number,
): Promise<PartOutcome> {
  const request = await deps.store.requests.get(requestId);
  const run = request?.run;
  if (!request || !isUnfinished(run) || run.attempt !== attempt || run.part !== part) return 'skipped';
  if (request.status !== 'provisioning' && !inRunTail(run)) return 'skipped'; // failed or abandoned meanwhile
  const now = deps.clock.now();
  if (run.leaseUntil > now.getTime()) return 'refused';
  if (run.wakeAt && Date.parse(run.wakeAt) > now.getTime()) return 'waiting';
  const leaseUntil = now.getTime() + RUN_LEASE_MS;
  const leased = await deps.store.requests.update(request, { run: { ...run, leaseUntil } }, now);
  if (!leased) return 'refused';
  return runFrom(deps, kind, leased, part, leaseUntil);
}

/**
 * Resumes a request's run where its checkpoint says, in this invocation, when no part holds it (a repeated event, the
 * daily check): its current part runs. Otherwise does nothing.
 */
export async function resumeRun(deps: Deps, kind: RunKind, request: AccessRequest): Promise<PartOutcome> {
  if (!isIdle(request, deps.clock.now()) || !request.run) return 'skipped';
  return runPart(deps, kind, request.id, request.run.attempt, request.run.part);
}

/** What a worker's run of a request came to: `skipped` when this call ran nothing to the end (a repeat, another part's
 * turn, a continuation handed off, a wait before the commit); a run asleep after its commit counts as ended. */
export type RunOutcome = 'done' | 'failed' | 'skipped';

/**
 * Runs attempt `attempt` of an approved request in this invocation, with the run kind `kindOf` gives for it: starts
 * its run (approved, or left `provisioning` by an earlier attempt's run: the kind's plan, given `options`), or resumes
 * it from its checkpoint when no part holds it (Lambda's retry of a killed part, a repeated event). A request of
 * another attempt, or ended, is skipped. Kind-agnostic: every kind's worker entry is this (see runner/requests.ts).
 */
export async function runAttempt(
  deps: Deps,
  kindOf: (request: AccessRequest) => RunKind | undefined,
  requestId: string,
  attempt: number,
  options: RunOptions = {},
): Promise<RunOutcome> {
  const found = await deps.store.requests.get(requestId);
  const kind = found && kindOf(found);
  if (!found || !kind || found.attempt !== attempt) return 'skipped';
  let outcome: PartOutcome = 'skipped';
  if (found.run?.attempt === attempt) outcome = await resumeRun(deps, kind, found);
  else if (found.status === 'approved' || found.status === 'provisioning')
    outcome = await startRun(deps, kind, found, options);
  // a run asleep in a `wait` step of its tail (after its commit) has ended its request: the rest is its life
  if (outcome !== 'finished' && outcome !== 'waiting') {
    logger.info('Run not finished in this invocation', { requestId, attempt, outcome });
    return 'skipped';
  }
  const ended = await deps.store.requests.get(requestId);
  if (ended?.status === 'failed') return 'failed';
  if (ended?.status === 'done') return 'done';
  logger.info('Run waiting before its end', { requestId, attempt });
  return 'skipped';
}

/**
 * Steps for a run whose request ended by its commit, in one conditional write with `changes` and `alsoWrite` (the
 * audit event of the ask), so that the stall sweep finishes them whatever happens to the worker. A request that ended
 * before the runner existed (no run of its attempt) gets a run whose only earlier step is its commit. Returns the new
 * state, or undefined when the request changed first (read it again and decide again), or when it has not ended by
 * a commit. Where the steps go (`where`):
 * - `next` (e.g. `/iam reissue`): before whatever the run still has to do (a tail of notifications, a `wait` step,
 *   which then waits again from its own record). While a part holds the run they go right after the step it runs
 *   (that part runs them); otherwise they go at the cursor and are handed to the worker as the run's next part.
 * - `end` (an undo asked for after the end, like an offboarding's Reactivate): after every step of the run. When no
 *   part is running it (its steps were all done), they are handed to the worker as the run's next part; otherwise
 *   the part that runs it (or resumes it) runs them too.
 */
export async function runNext(
  deps: Pick<Deps, 'store' | 'clock' | 'dispatcher'>,
  request: AccessRequest,
  steps: RunStep[],
  changes: RequestChanges,
  alsoWrite: (next: AccessRequest) => TransactionItem[],
  where: 'next' | 'end' = 'next',
): Promise<AccessRequest | undefined> {
  const now = deps.clock.now();
  const old = request.run?.attempt === request.attempt ? request.run : undefined;
  const committed: RunStep = { t: 'commit', op: 'commit', args: {}, result: 'done' };
  const run: RunState = old ?? {
    attempt: request.attempt,
    steps: [committed],
    cursor: 1,
    part: 1,
    leaseUntil: 0,
    seq: 0,
  };
  const held = isUnfinished(run) && run.leaseUntil > now.getTime();
  // `end`: the steps run after the rest, by whichever part runs the run, or by a new one when nothing is left
  const atEnd = where === 'end';
  const at = atEnd ? run.steps.length : run.cursor + (held ? 1 : 0);
  const ended = run.steps.slice(0, atEnd ? run.cursor : at).some((s) => s.t === 'commit');
  if (!ended) return undefined; // not ended by its run
  const handOff = atEnd ? run.cursor >= run.steps.length : !held;
  const withSteps = [...run.steps.slice(0, at), ...steps, ...run.steps.slice(at)];
  const { wakeAt: _woken, ...rest } = run;
  const nextRun: RunState = !handOff
    ? { ...run, steps: withSteps }
    : { ...(atEnd ? run : rest), steps: withSteps, part: run.part + 1, leaseUntil: 0 };
  const next = await deps.store.requests.update(request, { ...changes, run: nextRun }, now, [], alsoWrite);
  if (next && handOff) {
    try {
      await deps.dispatcher.dispatch(runPartJob(next.id, nextRun.attempt, nextRun.part));
    } catch (error) {
      // the stall sweep starts it: the steps are stored
      logger.error('Could not hand the new steps of a run to the worker', {
        requestId: next.id,
        errorName: (error as Error)?.name,
      });
    }
  }
  return next;
}

async function runFrom(
  deps: Deps,
  kind: RunKind,
  leased: AccessRequest,
  part: number,
  leaseUntil: number,
): Promise<PartOutcome> {
  const { partBudgetSeconds, maxStepsPerPart } = deps.config.policy.runner;
  const budgetMs = partBudgetSeconds * 1000;
  const now = () => deps.clock.now().getTime();
  // The budget counts from the invocation's start (the job's claim, a leaver's Slack check and the plan spent the
  // same worker time), and a step is started only when the slowest step so far (with its checkpoint) would still end
  // within it (issue 20: a part that started a step at 39 s of its loop ended its invocation at 47 s).
  const started = invocationStartedAt(now());
  let slowest = 0;
  let current = leased;
  // Steps run whose checkpoints wait for the next step's (RunKind.deferCheckpoint), and the request as the next step
  // sees it: as stored, with their results and changes applied in memory.
  let deferred: Ran[] = [];
  let view = leased;
  for (let ran = 0; ; ran++) {
    const run = view.run as RunState;
    const step = run.steps[run.cursor];
    if (!step) return 'finished';
    const stepStarted = now();
    const tooMany = ran > 0 && maxStepsPerPart > 0 && ran >= maxStepsPerPart;
    // with no step timed yet, only a part whose invocation already spent its budget hands off before its first step
    if (tooMany || stepStarted - started + slowest > budgetMs) {
      if (deferred.length) {
        const written = await checkpoint(deps, kind, current, deferred, part, leaseUntil);
        if (!written || written === 'again') return 'lost';
        current = written;
      }
      return handOff(deps, current, part, leaseUntil);
    }
    let outcome: StepOutcome;
    try {
      outcome = step.t === 'commit' ? { result: 'done' } : await kind.step(deps, view, step);
    } catch (error) {
      await release(deps, current.id, part, leaseUntil);
      throw new Error(`Request ${current.id}: step ${run.cursor} (${kind.describe(step)}) threw`, { cause: error });
    }
    if (outcome.waitUntil) {
      // a deferred step's next is never a `wait` step; should another step wait, what ran before it is written first
      if (deferred.length) {
        const written = await checkpoint(deps, kind, current, deferred, part, leaseUntil);
        deferred = [];
        if (!written || written === 'again') return 'lost';
        current = written;
      }
      const slept = await sleep(deps, current, part, leaseUntil, outcome.waitUntil);
      if (typeof slept === 'string') return slept;
      current = slept; // a signal changed the request first: the wait step decides again from it
      view = slept;
      continue;
    }
    const next = run.steps[run.cursor + 1];
    if (
      kind.deferCheckpoint?.(step) &&
      outcome.result !== 'failed' &&
      !outcome.then?.length &&
      next !== undefined &&
      next.t !== 'commit' &&
      next.t !== 'wait'
    ) {
      deferred = [...deferred, { step, outcome }];
      view = applied(view, step, outcome);
      slowest = Math.max(slowest, now() - stepStarted);
      continue;
    }
    const written = await checkpoint(deps, kind, current, [...deferred, { step, outcome }], part, leaseUntil);
    deferred = [];
    slowest = Math.max(slowest, now() - stepStarted);
    if (written === 'again') {
      const fresh = await deps.store.requests.get(current.id);
      if (!fresh) return 'lost';
      current = fresh;
      view = fresh;
      continue;
    }
    if (!written) {
      logger.warn('A part of a run lost its lease; it stops', { requestId: current.id, part });
      return 'lost';
    }
    current = written;
    view = written;
  }
}

/** A step run by a part, with what it came to, not yet checkpointed. */
interface Ran {
  step: RunStep;
  outcome: StepOutcome;
}

/** The request with a deferred step's result recorded and its changes made, in memory (its version unchanged). */
function applied(request: AccessRequest, step: RunStep, outcome: StepOutcome): AccessRequest {
  const run = request.run as RunState;
  const steps = [...run.steps];
  steps[run.cursor] = recorded(step, outcome);
  return { ...request, ...(outcome.changes?.(request) ?? {}), run: { ...run, steps, cursor: run.cursor + 1 } };
}

/** A step with its result, as its checkpoint stores it. */
const recorded = (step: RunStep, outcome: StepOutcome): RunStep => ({
  ...step,
  result: outcome.result,
  ...(outcome.detail ? { detail: outcome.detail } : {}),
  ...(outcome.data ? { data: outcome.data } : {}),
});

const audit = (deps: Deps, request: AccessRequest, action: string, detail: AuditDetail) =>
  deps.store.audit.transactionItem(
    auditEvent(deps, request, 'system', action, { attempt: request.attempt, ...detail }),
  );

/** The audit event of a step, unless the kind gives its own: `step-done` / `step-skipped` / `step-failed` for IAM
 * operations and deliveries, `step-decided` for gates, `notified` for notifications, `step-undone` /
 * `step-undo-skipped` / `step-undo-failed` for the runner's undo steps. */
function stepAudit(kind: RunKind, step: RunStep, outcome: StepOutcome): { action: string; detail: AuditDetail } {
  if (outcome.audit) return outcome.audit;
  const detail: AuditDetail = { step: kind.describe(step), ...(outcome.detail ? { detail: outcome.detail } : {}) };
  if (step.t === 'gate') return { action: 'step-decided', detail: { ...detail, result: outcome.result } };
  if (step.t === 'notify') return { action: 'notified', detail: { ...detail, result: outcome.result } };
  if (step.t === 'undo')
    return { action: outcome.result === 'done' ? 'step-undone' : `step-undo-${outcome.result}`, detail };
  return { action: `step-${outcome.result}`, detail };
}

/** What the runner records on the steps a failure left unrun (see RunKind.undo). */
export const NOT_RUN = 'not run: an earlier step failed';

/**
 * The runner's undo after step `at` failed (a kind with `undo`, before its commit), in `steps` (changed in place):
 * the steps after it up to the commit are recorded as not run, and the undo of every earlier `done` step, newest
 * first, goes before the commit. Returns the new cursor: the first undo step (or the commit).
 */
function undoAfterFailure(kind: RunKind, steps: RunStep[], at: number): number {
  const commitAt = steps.findIndex((s, i) => i > at && s.t === 'commit');
  const end = commitAt < 0 ? steps.length : commitAt;
  for (let i = at + 1; i < end; i++) steps[i] = { ...(steps[i] as RunStep), result: 'skipped', detail: NOT_RUN };
  const undo: RunStep[] = [];
  for (let i = at - 1; i >= 0; i--) {
    const done = steps[i] as RunStep;
    if (done.result !== 'done' || done.t === 'undo' || done.t === 'commit') continue;
    const reverse = kind.undo?.(done);
    if (reverse) undo.push({ ...reverse, t: 'undo', args: { ...reverse.args, undoes: String(i) } });
  }
  steps.splice(end, 0, ...undo);
  return end;
}

/**
 * Writes the checkpoint after the last of `ran` (the steps before it deferred theirs: see RunKind.deferCheckpoint):
 * each step's result, the steps the last one added, the cursor past it, the kind's changes (a `commit` step: the
 * request's end, status `failed` when an earlier step failed, else `done`), in one transaction with each step's audit
 * event. Conditional on the request's version; when someone else wrote first (e.g. a Reactivate, a member noticed
 * back), re-reads and writes again while this part still holds the lease. Returns the new state, or undefined once
 * the lease is lost.
 */
async function checkpoint(
  deps: Deps,
  kind: RunKind,
  request: AccessRequest,
  ran: readonly Ran[],
  part: number,
  leaseUntil: number,
): Promise<AccessRequest | undefined | 'again'> {
  const last = ran[ran.length - 1] as Ran;
  const { step, outcome } = last;
  let stored = request;
  for (let tries = 0; tries < 5; tries++) {
    if (!stored.run || stored.run.part !== part || stored.run.leaseUntil !== leaseUntil) return undefined;
    // A `wait` step decides from facts a signal may have changed meanwhile: it decides again from the new state.
    if (tries > 0 && step.t === 'wait') return 'again';
    const events: { action: string; detail: AuditDetail }[] = [];
    let current = stored;
    let earlier: RequestChanges = {};
    for (const before of ran.slice(0, -1)) {
      earlier = { ...earlier, ...(before.outcome.changes?.(current) ?? {}) };
      current = applied(current, before.step, before.outcome);
      events.push(stepAudit(kind, before.step, before.outcome));
    }
    const run = current.run as RunState;
    const at = run.cursor;
    const steps = [...run.steps];
    steps[at] = recorded(step, outcome);
    if (outcome.then?.length) steps.splice(at + 1, 0, ...outcome.then);
    const undoing =
      outcome.result === 'failed' &&
      kind.undo !== undefined &&
      step.t !== 'undo' &&
      !steps.slice(0, at).some((s) => s.t === 'commit');
    const cursor = undoing ? undoAfterFailure(kind, steps, at) : at + 1;
    const { wakeAt: _woken, ...rest } = run;
    const nextRun: RunState = {
      ...rest,
      steps,
      cursor,
      seq: (stored.run as RunState).seq + 1,
      ...(cursor >= steps.length ? { leaseUntil: 0 } : {}),
    };
    let changes: RequestChanges;
    if (step.t === 'commit') {
      const failed = steps.slice(0, at).filter((s) => s.result === 'failed');
      const committed = kind.commit(deps, current, failed);
      changes = { ...committed.changes, status: failed.length ? 'failed' : 'done' };
      events.push(committed.audit);
    } else {
      changes = outcome.changes?.(current) ?? {};
      events.push(stepAudit(kind, step, outcome));
    }
    const next = await deps.store.requests.update(
      stored,
      { ...earlier, ...changes, run: nextRun },
      deps.clock.now(),
      [],
      (n) => events.map((event) => audit(deps, n, event.action, event.detail)),
    );
    if (next) return next;
    const fresh = await deps.store.requests.get(stored.id);
    if (!fresh) return undefined;
    stored = fresh;
  }
  throw new Error(`Request ${request.id}: too many concurrent changes to write the checkpoint of step ${step.op}`);
}

/**
 * Ends the part before its budget runs out: records that part `part + 1` may run (the lease released, with a
 * `run-continued` audit event), then hands it to the worker. When the dispatch fails, the stall sweep starts it.
 */
async function handOff(deps: Deps, request: AccessRequest, part: number, leaseUntil: number): Promise<PartOutcome> {
  let current = request;
  for (let tries = 0; tries < 5; tries++) {
    const run = current.run;
    if (!run || run.part !== part || run.leaseUntil !== leaseUntil) return 'lost';
    const next = await deps.store.requests.update(
      current,
      { run: { ...run, part: part + 1, leaseUntil: 0 } },
      deps.clock.now(),
      [],
      (n) => [audit(deps, n, 'run-continued', { part: part + 1, cursor: run.cursor, steps: run.steps.length })],
    );
    if (next) {
      await deps.dispatcher.dispatch(runPartJob(next.id, run.attempt, part + 1));
      return 'continued';
    }
    const fresh = await deps.store.requests.get(current.id);
    if (!fresh) return 'lost';
    current = fresh;
  }
  return 'lost';
}

/**
 * A `wait` step not yet due: the run keeps its cursor, records when to wake and releases the lease. When someone
 * wrote the request first (a signal, e.g. the owner's click), returns it as it is now while this part still holds
 * the lease, so that the step decides again from it.
 */
async function sleep(
  deps: Deps,
  request: AccessRequest,
  part: number,
  leaseUntil: number,
  until: Date,
): Promise<'waiting' | 'lost' | AccessRequest> {
  const run = request.run;
  if (!run || run.part !== part || run.leaseUntil !== leaseUntil) return 'lost';
  const next = await deps.store.requests.update(
    request,
    { run: { ...run, leaseUntil: 0, wakeAt: until.toISOString() } },
    deps.clock.now(),
  );
  if (next) return 'waiting';
  const fresh = await deps.store.requests.get(request.id);
  const held = fresh?.run;
  return fresh && held?.part === part && held.leaseUntil === leaseUntil ? fresh : 'lost';
}

/**
 * A signal to a run (e.g. the owner's "I've switched"): writes `changes` (the fact the run's `wait` or gate step
 * reads) with `alsoWrite` (its audit event) in one conditional write and, when the run is asleep in a `wait` step,
 * wakes it: its next part may run now (`wakeAt` now, so the sweep starts it if the hand-off is lost). Returns the
 * new state and, when it woke the run, the job to hand to the worker; undefined when the request changed first.
 * While a part holds the run nothing is woken: that part's wait step decides again from the new state.
 */
export async function signalRun(
  deps: Pick<Deps, 'store' | 'clock'>,
  request: AccessRequest,
  changes: RequestChanges,
  alsoWrite: (next: AccessRequest) => TransactionItem[],
): Promise<{ request: AccessRequest; job?: Job } | undefined> {
  const now = deps.clock.now();
  const run = request.run;
  const asleep = isUnfinished(run) && run.attempt === request.attempt && run.leaseUntil <= now.getTime();
  const woken: RunState | undefined = asleep
    ? { ...run, part: run.part + 1, leaseUntil: 0, wakeAt: now.toISOString() }
    : undefined;
  const next = await deps.store.requests.update(
    request,
    { ...changes, ...(woken ? { run: woken } : {}) },
    now,
    [],
    alsoWrite,
  );
  if (!next) return undefined;
  return woken ? { request: next, job: runPartJob(next.id, woken.attempt, woken.part) } : { request: next };
}

/** Gives the lease back after a step threw, so that Lambda's retry of this part may run at once. Best effort. */
async function release(deps: Deps, requestId: string, part: number, leaseUntil: number): Promise<void> {
  try {
    const current = await deps.store.requests.get(requestId);
    const run = current?.run;
    if (!current || !run || run.part !== part || run.leaseUntil !== leaseUntil) return;
    await deps.store.requests.update(current, { run: { ...run, leaseUntil: 0 } }, deps.clock.now());
  } catch (error) {
    logger.error('Could not release the lease of a run', { requestId, errorName: (error as Error)?.name });
  }
}

/**
 * Starts the next part of a run no part holds and that has not moved for a while (the stall sweep): records part
 * `part + 1` (counting the parts started in a row without the cursor moving), with a `run-resumed` audit event, and
 * hands it to the worker; after MAX_STALLED_PARTS such parts, fails the request instead (see stopRun), or, when the
 * request had ended by its commit and only notification steps are left, gives them up and leaves the request's
 * outcome as it is (see giveUpTail). Returns what it did, or undefined when someone changed the
 * request first.
 */
export async function restartStalledRun(
  deps: Deps,
  kind: RunKind,
  request: AccessRequest,
): Promise<'resumed' | 'failed' | 'ended' | undefined> {
  const run = request.run;
  if (!run || !isIdle(request, deps.clock.now())) return undefined;
  // a due `wait` step waking is no stall, and is not audited (the step's own checkpoint says what it decided)
  const waking = run.wakeAt !== undefined;
  const stalls = waking ? (run.stalls ?? 0) : run.stalledAt === run.cursor ? (run.stalls ?? 0) + 1 : 1;
  if (stalls > MAX_STALLED_PARTS) {
    // A request that ended keeps its outcome when all that is left are notifications: they are given up. Other
    // steps after the end (a Reactivate's, a reissue's) still fail it, so that the approvers hear of it.
    if (inRunTail(run) && run.steps.slice(run.cursor).every((s) => s.t === 'notify'))
      return (await giveUpTail(deps, kind, request)) ? 'ended' : undefined;
    return (await stopRun(deps, kind, request)) ? 'failed' : undefined;
  }
  const part = run.part + 1;
  const next = await deps.store.requests.update(
    request,
    { run: { ...run, part, leaseUntil: 0, stalls, stalledAt: run.cursor } },
    deps.clock.now(),
    [],
    (n) => (waking ? [] : [audit(deps, n, 'run-resumed', { part, cursor: run.cursor, since: request.updatedAt })]),
  );
  if (!next) return undefined;
  await deps.dispatcher.dispatch(runPartJob(request.id, run.attempt, part));
  return 'resumed';
}

/** What the runner records on the tail steps a stalled run gave up (see giveUpTail). */
export const GIVEN_UP = 'not run: the run stalled after the request ended';

/**
 * Gives up the tail of a run whose request had ended by its commit and whose tail (notifications only) stopped making progress: the steps
 * left are recorded as not run (`skipped`, GIVEN_UP), the lease released, in one write with the `run-tail-stalled`
 * audit event. The request keeps its status and what its run recorded: its outcome was decided at the commit.
 * Returns the new state, or undefined when someone changed it first.
 */
async function giveUpTail(deps: Deps, kind: RunKind, request: AccessRequest): Promise<AccessRequest | undefined> {
  const run = request.run;
  if (!run) return undefined;
  const step = run.steps[run.cursor];
  const steps = run.steps.map((s, i) => (i >= run.cursor ? { ...s, result: 'skipped' as const, detail: GIVEN_UP } : s));
  return deps.store.requests.update(
    request,
    { run: { ...run, steps, cursor: steps.length, leaseUntil: 0 } },
    deps.clock.now(),
    [],
    (n) => [
      audit(deps, n, 'run-tail-stalled', {
        since: request.updatedAt,
        cursor: run.cursor,
        step: step ? kind.describe(step) : null,
        left: steps.length - run.cursor,
      }),
    ],
  );
}

/**
 * Fails a request whose run stopped making progress: status `failed` with the kind's record of it (what is left to
 * do), the lease released, in one write with the `provisioning-stalled` audit event; then the kind tells the
 * approvers (who get Retry, as for any failed request). Returns the failed request, or undefined when someone
 * changed it first.
 */
export async function stopRun(deps: Deps, kind: RunKind, request: AccessRequest): Promise<AccessRequest | undefined> {
  const run = request.run;
  if (!run) return undefined;
  const step = run.steps[run.cursor];
  const reason = `the run stopped at step ${run.cursor + 1} of ${run.steps.length}${step ? ` (${kind.describe(step)})` : ''} and did not get further`;
  const next = await deps.store.requests.update(
    request,
    { ...kind.stopped(deps, request, reason), status: 'failed', run: { ...run, leaseUntil: 0 } },
    deps.clock.now(),
    [],
    (n) => [audit(deps, n, 'provisioning-stalled', { since: request.updatedAt, cursor: run.cursor, reason })],
  );
  if (next) await kind.tellStopped(deps, next);
  return next;
}
