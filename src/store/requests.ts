import dynamoose from 'dynamoose';
import type { Item } from 'dynamoose/dist/Item.js';
import type { PlanStep, RequestKind } from '../services/plans/types.js';
import { ENDED, type RequestStatus } from '../services/request-status.js';
import { inRunTail } from '../services/runner/state.js';
import { epochSeconds, isConditionFailed, type StoreOptions, tableOptions, transact } from './dynamo.js';

export type { RequestStatus } from '../services/request-status.js';

/** One more item written in the same DynamoDB transaction as a request's change (e.g. its audit event). */
export type TransactionItem = Parameters<typeof dynamoose.transaction>[0][number];

/** What the new user gets: an access key, a console password, or both. */
export type AccessType = 'keys' | 'console' | 'both';

export interface Approval {
  /** Slack user id of the approver. */
  user: string;
  at: string;
}

/** Who ended a request's pending state other than by approval (deny, expiry) and why. */
export interface Decision {
  /** Slack user id, or `system` for expiry. */
  by: string;
  at: string;
  reason?: string;
}

/** What provisioning created in IAM for this request; what a rollback undoes and a report lists. */
export interface CreatedResources {
  user: boolean;
  groups: string[];
  loginProfile: boolean;
  accessKey: boolean;
}

/** Where a key rotation stands (see src/kinds/rotate-key/rotation.ts). `-ing` phases: an IAM write under way. */
export type RotationPhase =
  | 'grace'
  | 'still-in-use'
  | 'deactivating'
  | 'deactivated'
  | 'reactivating'
  | 'reactivated'
  | 'deleting'
  | 'deleted'
  | 'cancelling'
  | 'cancelled'
  | 'escalated';

/** A key rotation's state: key ids and times only. */
export interface RotationState {
  /** The key being rotated out (named or implied when asked). */
  oldKeyId: string;
  /** An inactive key the requester chose to delete first, to make room. */
  deleteFirst?: string;
  /** The key the rotation created and delivered; never touched by the rotation once delivered, except when its link expires unopened. */
  newKeyId?: string;
  phase?: RotationPhase;
  /**
   * When the current `-ing` phase was decided (by a wait step of the rotation's run, or the owner's click): dates the
   * phase's outcome (deleteAt, graceEndsAt) the same whichever part of the run finishes it.
   */
  phaseAt?: string;
  deliveredAt?: string;
  /** When the old key's grace period ends (moved on once when it is still in use). */
  graceEndsAt?: string;
  /** The old key's last use after delivery, when the grace period was extended for it. */
  lastUse?: { at: string; service: string; region: string };
  deactivatedAt?: string;
  /** Once deactivated: when the old key is deleted (the recovery period's end). */
  deleteAt?: string;
  /** Reactivate was used (it works once). */
  reactivated?: boolean;
  /**
   * A reissue's hold on the rotation's life (its grace step waits until then), or, on a rotation whose life has no
   * step on its run (stored by the scheduled phases before it ran on the runner, or reissued after it was
   * cancelled), that it continues there (see adoptPhaseRotations).
   */
  nextAt?: string;
  /** When the new key's one-time link expires (stored at delivery: the link item itself goes with its TTL). */
  linkExpiresAt?: string;
  /**
   * The user's key ids just before CreateAccessKey (a checkpoint): on resume, a key not among them and not recorded
   * as `newKeyId` is this rotation's own key whose write was lost (its secret with it).
   */
  keysBefore?: string[];
  /** The old key (`key`) or the whole user (`user`) was deleted outside the bot: the rotation ended there. */
  gone?: 'key' | 'user';
}

/**
 * `/iam reissue` of a request's undelivered credentials: the issue it replaces them for and its checkpoints, so that
 * a resumed attempt recognises what a killed one did (see services/kinds/reissue-run.ts).
 */
export interface ReissueState {
  /** The credential issue this state belongs to (`credentialIssue` when the reissue was asked for). */
  issue: number;
  /** The key the unopened link held (deleted before a new one is made), if any. */
  undelivered?: string;
  /**
   * The user's key ids just before CreateAccessKey: on resume, a key not among them and not `newKeyId` is this
   * reissue's own key whose write was lost (its secret with it).
   */
  keysBefore?: string[];
  /** The new key, recorded as soon as IAM returned it. */
  newKeyId?: string;
  /** The new link is recorded on the request (`linkId`) and audited. */
  delivered?: boolean;
  /** A rotation's owner was told that its grace period starts again. */
  told?: boolean;
}

/** The request's one-time link was opened (recorded by the credential page when it reveals), or reported. */
export interface LinkOpened {
  linkId: string;
  at: string;
  /** "This wasn't me": the recipient reported the reveal (the delivered key was deactivated). */
  revokedAt?: string;
}

/** What an offboarding found and did for one IAM user the leaver owns. */
export interface OffboardedUser {
  account: string;
  userName: string;
  path: string;
  /**
   * disabled: keys deactivated and/or console password deleted (or nothing was active); report: `report` policy,
   * nothing changed; excluded: the policy excludes it; unmanaged: outside the managed paths; owner-changed: someone
   * else owns it by now; gone: no longer in IAM; failed: an IAM call failed (`error`), Retry continues.
   */
  outcome: 'disabled' | 'report' | 'excluded' | 'unmanaged' | 'owner-changed' | 'gone' | 'failed';
  /** Keys deactivated by the offboarding (report: the active keys it would deactivate). What Reactivate restores. */
  keys: string[];
  /** Whether it deleted the console password (report: whether it would). */
  console: boolean;
  /** Safe summary of a failure: the step and AWS error name. */
  error?: string;
  /** Keys Reactivate made active again. */
  restoredKeys?: string[];
}

/** An offboarding (kind `offboard`): whom, why, what it did per IAM user, and its Reactivate. */
export interface Offboarding {
  /** Slack user id of the leaver. */
  member: string;
  /** What started it: the user_change event, the daily check, or /iam offboard. */
  trigger: 'event' | 'scan' | 'command';
  /** The policy's leavers.action when it ran. */
  action?: 'disable' | 'report';
  users: OffboardedUser[];
  /** Pending requests of the leaver (requester or recipient) it cancelled. */
  cancelled: string[];
  doneAt?: string;
  /** Reactivate: who, when; `reactivating` while the worker restores, then `reactivated`. */
  reactivation?: { by: string; at: string; phase: 'reactivating' | 'reactivated' };
  /** When the approval channel was told the member is active in Slack again. */
  returnedAt?: string;
  /**
   * `leavers.deleteAfterDays` set when it ended (disable mode): the day its disabled users are deleted unless
   * reactivated or taken over (the report names them and this date).
   */
  deleteAt?: string;
  /** What the daily check decided on `deleteAt`, per disabled user (see src/services/kinds/leaver-deletions.ts). */
  deletions?: { at: string; users: LeaverDeletion[] };
}

/** A disabled user of a leaver on its deletion day: deleted (by the delete-user request `requestId`) or kept, and why. */
export interface LeaverDeletion {
  account: string;
  userName: string;
  outcome: 'deleting' | 'kept';
  why?: string;
  requestId?: string;
}

/**
 * What a step of a run is (see src/services/runner): the runner treats each type the same for every kind. `undo`:
 * a step the runner added after a failure to reverse an earlier `done` step (its `args.undoes`: that step's index).
 */
export type RunStepType = 'op' | 'deliver' | 'commit' | 'wait' | 'gate' | 'notify' | 'undo';

/**
 * One step of a request's run: `op` names what the kind does at this step in its own words (e.g. `deactivate-key`),
 * `args` its ids and names (never a secret). `result` is set by the checkpoint that follows the step.
 */
export interface RunStep {
  t: RunStepType;
  op: string;
  args: Record<string, string>;
  result?: 'done' | 'skipped' | 'failed';
  /** Safe summary of the result: an AWS error name, `already gone`; never a message that could quote a value. */
  detail?: string;
  /** What the step found or decided, for the kind (ids and names only): what its record and undo are built from. */
  data?: Record<string, string | string[] | boolean>;
}

/**
 * Where a request's run stands (the resumable runner, src/services/runner): the plan of steps expanded at its
 * start, the cursor (the next step to run), the part of the run that holds it and until when (a lease: a killed
 * part's successor may take over after `leaseUntil`), the number of checkpoints written. Ids and names only.
 */
export interface RunState {
  /** The request's attempt this run belongs to (a Retry starts a new run). */
  attempt: number;
  steps: RunStep[];
  cursor: number;
  /** The part that may run now (1, 2, ...): its job id is derived from it, so a repeated delivery is skipped. */
  part: number;
  /** Epoch ms until which the current part holds the run; 0 when no part holds it. */
  leaseUntil: number;
  /** Checkpoints written so far. */
  seq: number;
  /** Parts the stall sweep started in a row without the cursor moving (it gives up after a few). */
  stalls?: number;
  /** The cursor when the stall sweep last started a part. */
  stalledAt?: number;
  /** A `wait` step's wake-up time (ISO): the sweep resumes the run then. */
  wakeAt?: string;
}

export interface UserTag {
  key: string;
  value: string;
}

/** One request (a new IAM user, or a change to one), as stored. Holds ids, names and decisions only: never a credential. */
export interface AccessRequest {
  id: string;
  /** What is asked for; undefined on requests stored before kinds existed: create-user. */
  kind?: RequestKind;
  /**
   * The IAM operations a change request runs once approved, in order (create-user's plan follows from its fields:
   * see planOf). What the approval message shows and the worker runs.
   */
  plan?: PlanStep[];
  /** For a change to an existing user: its owner (the `slack-user-id` tag) when the request was made. */
  owner?: string;
  status: RequestStatus;
  /** Slack user id of who asked. */
  requester: string;
  /**
   * Slack user id of who receives the credentials (create-user), becomes the owner (set-owner), or is told when a
   * membership change is done (the user's owner, else the requester).
   */
  recipient: string;
  /** Account name from the policy (`home` or a named account). */
  account: string;
  /** 12-digit account id, from STS at submission. */
  accountId: string;
  userName: string;
  path: string;
  groups: string[];
  accessType: AccessType;
  tags: UserTag[];
  justification: string;
  approvals: Approval[];
  decision?: Decision;
  /**
   * Why it needed no approval, when the worker decided so (an inline change checked after its answer: `owner`,
   * `group-approver`, `break-glass`); a request decided at once at submission records it in its audit event only.
   */
  allowedAtOnce?: string;
  /** The approval message in the policy's channel. */
  message?: { channel: string; ts: string };
  /** Provisioning attempt: 1 for the first, +1 for each Retry. The job id of attempt n > 1 is `provision:<id>:<n>`. */
  attempt: number;
  /** How many times provisioning minted fresh credentials (part of the delivery key). */
  credentialIssue: number;
  created?: CreatedResources;
  /** Safe summary of the last failure: step and AWS error name, never a message that could hold a secret. */
  error?: string;
  /** What still exists after a failed rollback, e.g. `membership of build-bot in ci-deployers`. */
  remaining?: string[];
  /** The one-time link that delivered the credentials. */
  linkId?: string;
  /**
   * When a link of this request was opened, written by the credential page as it reveals (not versioned, see
   * recordLinkOpened): a durable fact, where the link item goes with its TTL.
   */
  linkOpened?: LinkOpened;
  /** While failed: when the scheduled task abandons it (the failed-request lifetime), releasing its user name. */
  abandonAt?: string;
  createdAt: string;
  expiresAt: string;
  updatedAt: string;
  /** rotate-key: the rotation's keys and where it stands. */
  rotation?: RotationState;
  /** offboard: the leaver and what was done per IAM user. */
  offboard?: Offboarding;
  /** The resumable runner's state (kinds that run on it); absent on items stored before it. */
  run?: RunState;
  /** The last `/iam reissue` of its credentials (see ReissueState). */
  reissue?: ReissueState;
  /** Optimistic concurrency: every write requires the version it read and increments it. */
  version: number;
}

interface RequestItem extends Item, AccessRequest {
  ttl: number;
  /** Set (to SWEEP_DUE) only while the scheduled sweep may have work on the request: the sparse `sweep` index. */
  sweepDue?: string;
  /** When that work is due (epoch ms): a pending request's expiry, an approved or provisioning one's stall time. */
  sweepAt?: number;
}

/** A reservation of an IAM user name in an account, held by the request that asks for it (`name#...` items). */
interface NameItem extends Item {
  id: string;
  holder: string;
  ttl: number;
}

/** Stored requests are kept this long after creation (the audit table keeps the history). */
const KEEP_SECONDS = 400 * 86_400;

/**
 * Provisioning not finished this long after the request's last change has stopped (the worker runs for 60 s at
 * most), and an approved request whose provisioning never started (its worker invocation was lost) likewise.
 */
export const STALLED_AFTER_MS = 15 * 60_000;

/** Constant partition of the sparse sweep index: only requests with a deadline carry it. */
const SWEEP_DUE = 'due';
export const SWEEP_INDEX = 'sweep';

/** When the scheduled sweep has work on a request in this state, if ever (epoch ms). */
function sweepAtFor(
  request: Pick<AccessRequest, 'status' | 'expiresAt' | 'abandonAt' | 'rotation' | 'run'>,
  now: Date,
): number | undefined {
  if (request.status === 'pending') return Date.parse(request.expiresAt);
  // a run with steps left after its commit (e.g. its report): the stall sweep resumes it if it stops; asleep in a
  // `wait` step (no part holds it), the sweep wakes it when it is due
  if (inRunTail(request.run)) {
    const { wakeAt, leaseUntil } = request.run as { wakeAt?: string; leaseUntil: number };
    return wakeAt && leaseUntil === 0 ? Date.parse(wakeAt) : now.getTime() + STALLED_AFTER_MS;
  }
  if (request.status === 'done' && request.rotation?.nextAt) return Date.parse(request.rotation.nextAt);
  if (request.status === 'approved' || request.status === 'provisioning') return now.getTime() + STALLED_AFTER_MS;
  if (request.status === 'failed' && request.abandonAt) return Date.parse(request.abandonAt);
  return undefined;
}

/** The id of the item reserving an IAM user name (IAM user names are unique regardless of case). */
export const nameKey = (account: string, userName: string) => `name#${account}#${userName.toLowerCase()}`;

const FIELDS = [
  'id',
  'kind',
  'plan',
  'owner',
  'status',
  'requester',
  'recipient',
  'account',
  'accountId',
  'userName',
  'path',
  'groups',
  'accessType',
  'tags',
  'justification',
  'approvals',
  'decision',
  'allowedAtOnce',
  'message',
  'attempt',
  'credentialIssue',
  'created',
  'error',
  'remaining',
  'linkId',
  'linkOpened',
  'abandonAt',
  'rotation',
  'offboard',
  'run',
  'reissue',
  'createdAt',
  'expiresAt',
  'updatedAt',
  'version',
] as const satisfies readonly (keyof AccessRequest)[];

type Changes = Partial<Omit<AccessRequest, 'id' | 'version' | 'updatedAt' | 'createdAt'>>;

const stringList = { type: Array, schema: [String] };

/** Requests for new IAM users, with a conditional write for every transition. */
/**
 * Attributes a kind adds to the request item, as dynamoose schema definitions by attribute name (`{ grant: { type:
 * Object, schema: {...} } }`). The store merges them into the item's schema; the kind declares their TypeScript type
 * by augmenting AccessRequest (`declare module '.../store/requests.js'`) beside them.
 */
export type KindItemFields = Readonly<Record<string, unknown>>;

/** What the store needs to know of request kinds, given by whoever builds it (src/deps.ts: the kinds registry). */
export interface StoreKinds {
  /** Whether a request holds its IAM user name (a `name#` item) until it ends. */
  reservesName(request: Pick<AccessRequest, 'kind'>): boolean;
  /**
   * The attributes the kinds add to the request item (each kind's `itemFields`, src/kinds/facts.ts), as dynamoose
   * schema definitions by attribute name: merged into the item's schema, read back and written like the shared ones.
   */
  itemFields?: KindItemFields;
}

/** The request item's shared attributes, as the dynamoose schema declares them. */
function sharedSchema(): Record<string, unknown> {
  return {
    id: { type: String, hashKey: true },
    kind: String,
    plan: {
      type: Array,
      schema: [
        {
          type: Object,
          schema: {
            op: String,
            userName: String,
            path: String,
            group: String,
            key: String,
            value: String,
            previous: String,
            accessKeyId: String,
            account: String,
          },
        },
      ],
    },
    owner: String,
    status: String,
    requester: String,
    recipient: String,
    account: String,
    accountId: String,
    userName: String,
    path: String,
    groups: stringList,
    accessType: String,
    tags: { type: Array, schema: [{ type: Object, schema: { key: String, value: String } }] },
    justification: String,
    approvals: { type: Array, schema: [{ type: Object, schema: { user: String, at: String } }] },
    decision: { type: Object, schema: { by: String, at: String, reason: String } },
    allowedAtOnce: String,
    message: { type: Object, schema: { channel: String, ts: String } },
    attempt: Number,
    credentialIssue: Number,
    created: {
      type: Object,
      schema: { user: Boolean, groups: stringList, loginProfile: Boolean, accessKey: Boolean },
    },
    error: String,
    remaining: stringList,
    linkId: String,
    linkOpened: { type: Object, schema: { linkId: String, at: String, revokedAt: String } },
    abandonAt: String,
    rotation: {
      type: Object,
      schema: {
        oldKeyId: String,
        deleteFirst: String,
        newKeyId: String,
        phase: String,
        phaseAt: String,
        deliveredAt: String,
        graceEndsAt: String,
        lastUse: { type: Object, schema: { at: String, service: String, region: String } },
        deactivatedAt: String,
        deleteAt: String,
        reactivated: Boolean,
        nextAt: String,
        linkExpiresAt: String,
        keysBefore: stringList,
        gone: String,
      },
    },
    offboard: {
      type: Object,
      schema: {
        member: String,
        trigger: String,
        action: String,
        users: {
          type: Array,
          schema: [
            {
              type: Object,
              schema: {
                account: String,
                userName: String,
                path: String,
                outcome: String,
                keys: stringList,
                console: Boolean,
                error: String,
                restoredKeys: stringList,
              },
            },
          ],
        },
        cancelled: stringList,
        doneAt: String,
        reactivation: { type: Object, schema: { by: String, at: String, phase: String } },
        returnedAt: String,
        deleteAt: String,
        deletions: {
          type: Object,
          schema: {
            at: String,
            users: {
              type: Array,
              schema: [
                {
                  type: Object,
                  schema: { account: String, userName: String, outcome: String, why: String, requestId: String },
                },
              ],
            },
          },
        },
      },
    },
    run: {
      type: Object,
      schema: {
        attempt: Number,
        steps: String, // JSON (see storedRun)
        cursor: Number,
        part: Number,
        leaseUntil: Number,
        seq: Number,
        stalls: Number,
        stalledAt: Number,
        wakeAt: String,
      },
    },
    reissue: {
      type: Object,
      schema: {
        issue: Number,
        undelivered: String,
        keysBefore: stringList,
        newKeyId: String,
        delivered: Boolean,
        told: Boolean,
      },
    },
    createdAt: String,
    expiresAt: String,
    updatedAt: String,
    version: Number,
    ttl: Number,
    sweepDue: {
      type: String,
      index: { name: SWEEP_INDEX, type: 'global', rangeKey: 'sweepAt', project: false },
    },
    sweepAt: Number,
    holder: String,
  };
}

/**
 * The request item's schema: the shared attributes and the kinds' (`kindFields`). A kind's attribute that has a
 * shared attribute's name is refused (it would silently replace it).
 */
function requestSchema(kindFields: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const shared = sharedSchema();
  const clash = Object.keys(kindFields).filter((name) => Object.hasOwn(shared, name));
  if (clash.length) throw new Error(`A kind declares request item fields the store already has: ${clash.join(', ')}`);
  return { ...shared, ...kindFields };
}

export class RequestStore {
  readonly model;
  readonly #kinds: StoreKinds;
  /** Every attribute a request is read back with: the shared ones and the kinds'. */
  readonly #fields: readonly string[];
  readonly #toRequest = (item: RequestItem): AccessRequest => toRequest(item, this.#fields);
  constructor(options: StoreOptions, kinds: StoreKinds) {
    this.#kinds = kinds;
    this.#fields = [...FIELDS, ...Object.keys(kinds.itemFields ?? {})];
    this.model = dynamoose.model<RequestItem>(
      'requests',
      new dynamoose.Schema(requestSchema(kinds.itemFields ?? {}) as never),
      tableOptions(options),
    );
  }

  /**
   * Stores a new request and reserves its IAM user name in its account, in one transaction with `alsoWrite` (e.g. its
   * audit event): either all of it is written or nothing. So a name item always points at a stored request, and of
   * two racing requests for one name one wins. `takeOverFrom`: replace that holder (a request that has ended), only
   * if it still holds the name. Returns `reserved`, or else who holds the name now (undefined: nobody; try again).
   */
  async createReserving(
    request: AccessRequest,
    alsoWrite: TransactionItem[] = [],
    takeOverFrom?: string,
    id: string = nameKey(request.account, request.userName),
  ): Promise<{ reserved: true } | { reserved: false; holder: string | undefined }> {
    const created = new Date(request.createdAt);
    const ttl = epochSeconds(created) + KEEP_SECONDS;
    const sweepAt = sweepAtFor(request, new Date(request.updatedAt));
    const name = takeOverFrom
      ? this.model.transaction.update({ id }, { holder: request.id, ttl } as never, {
          condition: new dynamoose.Condition('holder').eq(takeOverFrom),
        })
      : this.model.transaction.create({ id, holder: request.id, ttl } as never, { overwrite: false });
    const item = this.model.transaction.create(
      { ...toItem(request), ttl, ...(sweepAt !== undefined ? { sweepDue: SWEEP_DUE, sweepAt } : {}) },
      { overwrite: false },
    );
    try {
      await transact([name, item, ...alsoWrite]);
      return { reserved: true };
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      return { reserved: false, holder: await this.holderOf(id) };
    }
  }

  /**
   * Stores a new request and takes over the reservation item `id` (`rotation#...`) in one transaction with
   * `alsoWrite`: the item is created when `from` is undefined (nobody held it), else it is taken over only while it
   * still names `from` and request `from`, as stored at that instant, meets `fromEnded` (a ConditionCheck in the same
   * transaction: no read decides, so a request that ends or a rival that takes the item meanwhile is seen as it is
   * when the transaction commits). Either all of it is written or nothing. Returns `reserved`, or why not: `taken`
   * (the item names another request now, or was created meanwhile) or `not-ended` (`from` does not meet `fromEnded`),
   * read from the transaction's cancellation reasons with no further call.
   */
  async createTakingOver(
    request: AccessRequest,
    alsoWrite: TransactionItem[],
    reservation: {
      id: string;
      from: string | undefined;
      /** When the request `from` names has ended: it is gone, or in one of `statuses`, or `done` in one of `doneInPhases`. */
      fromEnded: { statuses: readonly RequestStatus[]; doneInPhases: readonly RotationPhase[] };
    },
  ): Promise<{ reserved: true } | { reserved: false; why: 'taken' | 'not-ended' }> {
    const { id, from } = reservation;
    const fromEnded = new dynamoose.Condition()
      .where('id')
      .not()
      .exists()
      .or()
      .where('status')
      .in([...reservation.fromEnded.statuses])
      .or()
      .parenthesis((c: InstanceType<typeof dynamoose.Condition>) =>
        c
          .where('status')
          .eq('done')
          .and()
          .where('rotation.phase')
          .in([...reservation.fromEnded.doneInPhases]),
      );
    const created = new Date(request.createdAt);
    const ttl = epochSeconds(created) + KEEP_SECONDS;
    const sweepAt = sweepAtFor(request, new Date(request.updatedAt));
    const take = from
      ? this.model.transaction.update({ id }, { holder: request.id, ttl } as never, {
          condition: new dynamoose.Condition('holder').eq(from),
        })
      : this.model.transaction.create({ id, holder: request.id, ttl } as never, { overwrite: false });
    const item = this.model.transaction.create(
      { ...toItem(request), ttl, ...(sweepAt !== undefined ? { sweepDue: SWEEP_DUE, sweepAt } : {}) },
      { overwrite: false },
    );
    const ended = from ? [this.model.transaction.condition({ id: from }, fromEnded)] : [];
    try {
      await transact([take, item, ...ended, ...alsoWrite]);
      return { reserved: true };
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
      // the items' order above: [take, item, ended?, ...alsoWrite]
      const notEnded = from !== undefined && reasons[2]?.Code === 'ConditionalCheckFailed';
      return {
        reserved: false,
        why: notEnded && reasons[0]?.Code !== 'ConditionalCheckFailed' ? 'not-ended' : 'taken',
      };
    }
  }

  /**
   * Stores a new request that reserves no user name (a change to an existing user), in one transaction with
   * `alsoWrite` (its audit event). Throws if a request with its id exists.
   */
  async create(request: AccessRequest, alsoWrite: TransactionItem[] = []): Promise<void> {
    const ttl = epochSeconds(new Date(request.createdAt)) + KEEP_SECONDS;
    const sweepAt = sweepAtFor(request, new Date(request.updatedAt));
    await transact([
      this.model.transaction.create(
        { ...toItem(request), ttl, ...(sweepAt !== undefined ? { sweepDue: SWEEP_DUE, sweepAt } : {}) },
        { overwrite: false },
      ),
      ...alsoWrite,
    ]);
  }

  /** The id of the request that holds an IAM user name in an account, if any. */
  async nameHolder(account: string, userName: string): Promise<string | undefined> {
    return this.holderOf(nameKey(account, userName));
  }

  /** The request a reservation item (`name#...`, `rotation#...`) points at, read consistently. */
  async holderOf(id: string): Promise<string | undefined> {
    const item = (await this.model.get({ id }, { consistent: true })) as unknown as NameItem | undefined;
    return item?.holder;
  }

  /** Releases a name this request holds (nothing if another request holds it now). */
  async releaseName(account: string, userName: string, requestId: string): Promise<void> {
    try {
      await this.model.delete(
        { id: nameKey(account, userName) },
        { condition: new dynamoose.Condition('holder').eq(requestId) },
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
  }

  /**
   * The stored request, read consistently: every read here decides something (a transition, a claim, whether a
   * name is free), and an eventually consistent read could return a version older than the last write.
   */
  async get(id: string): Promise<AccessRequest | undefined> {
    const item = await this.model.get({ id }, { consistent: true });
    return item ? this.#toRequest(item) : undefined;
  }

  /**
   * Writes `changes` only if the stored request is still the version `current` was read at (so still in its
   * status). Returns the new state, or undefined when someone else changed the request first (re-read and decide
   * again). `remove` deletes optional fields.
   *
   * With `alsoWrite` (e.g. the audit event of the change, built from the new state), the change and those items
   * are written in one transaction: one network call, all or nothing. An ended request's user name is then not
   * released here (the caller's follow-up does it, see releaseName; a name held by an ended request is taken over
   * anyway); without `alsoWrite` it is released at once.
   */
  async update(
    current: AccessRequest,
    changes: Changes,
    now: Date,
    remove: (keyof Changes)[] = [],
    alsoWrite?: (next: AccessRequest) => TransactionItem[],
  ): Promise<AccessRequest | undefined> {
    // The sweep index follows the status: a deadline while pending, approved, provisioning or failed; none after.
    const sweepAt = sweepAtFor(
      {
        status: changes.status ?? current.status,
        expiresAt: changes.expiresAt ?? current.expiresAt,
        abandonAt: remove.includes('abandonAt') ? undefined : (changes.abandonAt ?? current.abandonAt),
        rotation: changes.rotation ?? current.rotation,
        run: changes.run ?? current.run,
      },
      now,
    );
    const $REMOVE: string[] = [...remove, ...(sweepAt === undefined ? ['sweepDue', 'sweepAt'] : [])];
    const $SET = {
      ...toItem(changes),
      version: current.version + 1,
      updatedAt: now.toISOString(),
      ...(sweepAt !== undefined ? { sweepDue: SWEEP_DUE, sweepAt } : {}),
    };
    const update = { $SET, ...($REMOVE.length ? { $REMOVE } : {}) } as never;
    const condition = new dynamoose.Condition('version').eq(current.version).and().where('status').eq(current.status);
    try {
      if (alsoWrite) {
        const merged: Record<string, unknown> = {
          ...current,
          ...changes,
          version: $SET.version,
          updatedAt: $SET.updatedAt,
        };
        for (const field of remove) delete merged[field];
        const next = this.#toRequest(merged as unknown as RequestItem);
        await transact([this.model.transaction.update({ id: current.id }, update, { condition }), ...alsoWrite(next)]);
        return next;
      }
      const next = this.#toRequest(await this.model.update({ id: current.id }, update, { condition }));
      // An ended request gives its IAM user name back (a missed release heals: see createReserving's takeOverFrom).
      if (ENDED.includes(next.status) && this.#kinds.reservesName(next))
        await this.releaseName(next.account, next.userName, next.id);
      return next;
    } catch (error) {
      if (isConditionFailed(error)) return undefined;
      throw error;
    }
  }

  /**
   * Records where a request's approval message is, whatever else changed meanwhile: its location is not a decision, so
   * it neither needs nor bumps the version (an Approve between the post and this write must not make provisioning or
   * the approval lose their conditional writes). Returns the request as stored, or undefined if it no longer exists.
   */
  async setMessage(id: string, message: { channel: string; ts: string }): Promise<AccessRequest | undefined> {
    try {
      return this.#toRequest(
        await this.model.update({ id }, { $SET: { message } } as never, {
          condition: new dynamoose.Condition('id').exists(),
        }),
      );
    } catch (error) {
      if (isConditionFailed(error)) return undefined;
      throw error;
    }
  }

  /**
   * Records that the request's link `linkId` was opened (or, with `revokedAt`, reported), whatever else changed
   * meanwhile: a fact, not a decision, so it neither needs nor bumps the version (the worker's conditional writes
   * racing with a reveal must not fail for it), and it lives outside `rotation`, which every step rewrites whole.
   * A link reveals once, so this is written once per link (a report overwrites it with `revokedAt`); nothing is
   * written for a request that does not exist.
   */
  async recordLinkOpened(id: string, opened: LinkOpened): Promise<void> {
    const condition = new dynamoose.Condition('id').exists();
    try {
      await this.model.update({ id }, { $SET: { linkOpened: opened } } as never, { condition });
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
  }

  /**
   * Requests the scheduled sweep has work on at `now`: from the sparse `sweep` index (only requests with a deadline
   * carry it), then each read consistently, since the index is eventually consistent and projects keys only.
   */
  async dueForSweep(now: Date): Promise<AccessRequest[]> {
    const keys = await this.model
      .query('sweepDue')
      .eq(SWEEP_DUE)
      .using(SWEEP_INDEX)
      .where('sweepAt')
      .le(now.getTime())
      .all()
      .exec();
    const requests = await Promise.all(keys.map((k) => this.model.get({ id: k.id }, { consistent: true })));
    return requests.filter((r): r is NonNullable<typeof r> => r !== undefined).map(this.#toRequest);
  }

  /**
   * Requests still pending at `now` (not yet past their lifetime), oldest first, for display (the approvers' App
   * Home): one query of the sparse `sweep` index (only requests with a deadline carry it: pending, approved,
   * provisioning, failed and rotations under way, a few hundred at most, never the ended ones) for ids whose deadline
   * is after `now`, then batch reads of at most 100, eventually consistent: a click re-reads the request anyway.
   */
  async pendingAt(now: Date): Promise<AccessRequest[]> {
    const keys = await this.model
      .query('sweepDue')
      .eq(SWEEP_DUE)
      .using(SWEEP_INDEX)
      .where('sweepAt')
      .gt(now.getTime())
      .all()
      .exec();
    const ids = [...new Set(keys.map((k) => k.id))];
    const out: AccessRequest[] = [];
    for (let i = 0; i < ids.length; i += 100) {
      const items = await this.model.batchGet(ids.slice(i, i + 100).map((id) => ({ id })));
      out.push(...items.map(this.#toRequest));
    }
    const at = now.toISOString();
    return out
      .filter((r) => r.status === 'pending' && r.expiresAt > at)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Pending requests whose lifetime ended at or before `now`. */
  async pendingExpiredAt(now: Date): Promise<AccessRequest[]> {
    return (await this.dueForSweep(now)).filter((r) => r.status === 'pending' && r.expiresAt <= now.toISOString());
  }

  /** Failed requests whose failed-request lifetime (`abandonAt`) ended at or before `now`. */
  async failedPastLifetimeAt(now: Date): Promise<AccessRequest[]> {
    const at = now.toISOString();
    return (await this.dueForSweep(now)).filter((r) => r.status === 'failed' && r.abandonAt && r.abandonAt <= at);
  }

  /**
   * Requests by id, for display (the history of an IAM user): one BatchGetItem of at most 100 ids, eventually
   * consistent; ids with no request left out. Name reservations are never returned.
   */
  async getMany(ids: readonly string[]): Promise<AccessRequest[]> {
    const wanted = [...new Set(ids)].filter((id) => !id.startsWith('name#')).slice(0, 100);
    if (!wanted.length) return [];
    const items = await this.model.batchGet(wanted.map((id) => ({ id })));
    return items.map(this.#toRequest);
  }

  /**
   * Requests by id, read consistently (for reads that decide a change): BatchGetItem of 100 ids a call, with
   * ConsistentRead; keys DynamoDB leaves unprocessed are asked again. Ids with no request are left out.
   */
  async getManyConsistent(ids: readonly string[]): Promise<AccessRequest[]> {
    const out: AccessRequest[] = [];
    let left = [...new Set(ids)].filter((id) => !id.startsWith('name#'));
    for (let calls = 0; left.length && calls < 10 * Math.ceil(left.length / 100) + 10; calls++) {
      const batch = left.slice(0, 100);
      const items = await this.model.batchGet(
        batch.map((id) => ({ id })),
        { consistent: true },
      );
      out.push(...items.map(this.#toRequest));
      const unprocessed = new Set(items.unprocessedKeys.map((k) => String((k as { id?: unknown }).id)));
      left = [...batch.filter((id) => unprocessed.has(id)), ...left.slice(100)];
    }
    if (left.length) throw new Error(`DynamoDB left ${left.length} requests unread after repeated BatchGetItem`);
    return out;
  }

  /** Approved or provisioning requests unchanged for STALLED_AFTER_MS at `now` (their worker stopped, or never ran). */
  async stalledAt(now: Date): Promise<AccessRequest[]> {
    const cutoff = new Date(now.getTime() - STALLED_AFTER_MS).toISOString();
    return (await this.dueForSweep(now)).filter(
      (r) => (r.status === 'approved' || r.status === 'provisioning') && r.updatedAt <= cutoff,
    );
  }
}

/**
 * A run as stored: its steps as one JSON string. Each kind has its own step arguments and results (a fixed schema
 * would drop them), and a list of hundreds of nested maps makes every checkpoint of a big run slow to write and read
 * (measured on moto: about 1 s per write with 300 steps as maps, 0.2 s as one string).
 */
function storedRun(run: RunState) {
  return { ...run, steps: JSON.stringify(run.steps) };
}

/** A run as read (its steps parsed), or as built in memory (left as it is). */
function loadedRun(run: RunState): RunState {
  const steps = run.steps as unknown;
  return { ...run, steps: typeof steps === 'string' ? (JSON.parse(steps) as RunStep[]) : run.steps };
}

/** A request as written: its run's args as JSON. */
const toItem = <T extends Partial<AccessRequest>>(r: T) => (r.run ? { ...r, run: storedRun(r.run) } : r);

function toRequest(item: RequestItem, fields: readonly string[]): AccessRequest {
  const out: Record<string, unknown> = {};
  const source = item as unknown as Record<string, unknown>;
  for (const key of fields) if (source[key] !== undefined) out[key] = structuredClone(source[key]);
  if (out.run) out.run = loadedRun(out.run as RunState);
  const request = out as unknown as AccessRequest;
  request.groups ??= [];
  request.tags ??= [];
  request.approvals ??= [];
  return request;
}
