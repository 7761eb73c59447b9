/**
 * What a kind of request is: one module per kind implements this, and the request life cycle asks the kind instead of
 * branching on its name. This first step covers who may not decide a request, its approval rule, whether it
 * reserves its IAM user name (the one submit path, src/services/requests/submit.ts, reserves it), whom it names that
 * must be a person in the workspace, how it renders, and how its credentials are reissued. Run parts live in the
 * worker's table (src/services/runner/kinds.ts).
 *
 * The IAM and table actions a kind's code calls are declared beside it, as data, in src/kinds/permissions/<kind>.ts
 * (listed by src/kinds/permissions/index.ts): the role builder (src/deploy/roles.ts) unions them, and neither the build
 * nor any bundle needs the kind modules for that.
 *
 * A kind module is loaded by the Slack function: it must not import worker-only code (credential delivery, the run
 * parts of src/services/kinds/); those stay in files the worker imports.
 */
import type { Policy } from '../config.js';
import type { Deps } from '../deps.js';
import type { RequestKind } from '../services/plans/types.js';
import type { OutgoingMessage } from '../services/ports.js';
import type { ApprovalRule } from '../services/requests/approval-rule.js';
import type { AccessRequest, TransactionItem } from '../store/requests.js';
import type { ProjectedUser } from '../store/users.js';
import type { ChangeDraft, CheckedChange, DraftPatch } from './change-draft.js';
import type { ChangeKind } from './change-rules.js';

/** What a kind's `verify` may call: the AWS clients of the accounts, the policy, the state tables (reads). */
export type VerifyDeps = Pick<Deps, 'aws' | 'config' | 'store' | 'messenger' | 'clock'> & {
  /** The kinds' checks of the request's kind, for a change kind (registry kindChecks; the runner passes them). */
  draftChecks?: readonly DraftCheck[];
};

/**
 * The worker's check of a new request before it is posted (RequestKindModule.verify): fields to record on the request
 * (e.g. the account id the check learned), or a refusal that ends it unposted with its requester told why.
 */
export type Verified =
  | {
      fields?: Partial<AccessRequest>;
      /**
       * The request needs no approval (decided by the worker, for a request stored before its checks): why (recorded
       * as `allowedAtOnce`), and the requester's answer. The worker runs it at once instead of posting it.
       */
      atOnce?: { allowed: string; answer: string };
    }
  /** `blocks`: the answer has buttons (rotate-key's offer to delete an inactive key first). */
  | { refusal: { code: string; text: string; blocks?: OutgoingMessage['blocks'] } };

/** Someone who may not decide a request (besides its requester, whom no kind lets decide), and what they are told. */
export interface Exclusion {
  /** The Slack user id; undefined or empty: nobody (e.g. a user without owner). */
  user: string | undefined;
  /** The refusal, for `verb` (approve, deny, retry, abandon). */
  reason(verb: string): string;
}

/** What the approval message shows besides the stored request, derived from the policy when rendered. */
export interface RenderContext {
  policy: Policy;
  /** Distinct approvals the request needs. */
  requiredApprovals: number;
  /** Policy description of each group, by name. */
  groupDescriptions: Record<string, string>;
}

/**
 * How a kind's undelivered credentials are sent again (`/iam reissue`): a kind that delivers an access key by one-time
 * link declares this; the reissue itself (src/services/kinds/reissue.ts, reissue-run.ts) is the same for every kind
 * and asks the kind only these questions. Pure functions of the stored request: no I/O.
 */
export interface ReissueHook {
  /** Why the request's delivery cannot be reissued now (beyond the shared checks), or undefined when it can. */
  refusal(request: AccessRequest): string | undefined;
  /** What the request records with the ask, in the same write (e.g. a rotation: the scheduled task leaves it alone). */
  asked(request: AccessRequest, now: Date): Partial<AccessRequest>;
  /** The key the unopened delivery left with nobody (deleted before a new one is made), given the link's record. */
  undeliveredKey(request: AccessRequest, link: { accessKeyId?: string } | undefined): string | undefined;
  /** What the request records once the new key is delivered, besides its new link (e.g. a rotation's grace restarts). */
  delivered(
    request: AccessRequest,
    delivery: { newKeyId: string; linkExpiresAt: Date; now: Date; policy: Policy },
  ): Partial<AccessRequest>;
  /** Who is told once the new key is delivered, besides the recipient's link and the approver's answer (once each). */
  told(request: AccessRequest): Array<{ to: string; message: OutgoingMessage }>;
}

/** Someone a request names who must be a person in the workspace (see RequestKindModule.people). */
export interface PersonCheck {
  /** The Slack user id. */
  user: string;
  /** Their part in the request, for the audit trail: `recipient`, `new owner`. */
  role: string;
  /** The requester's answer when they cannot act, given who they are (`<@U…> is a bot`, …). */
  refusal(who: string): string;
}

/** A group as the access policy lists it. */
export type PolicyGroup = Policy['groups'][number];

/**
 * A flag a kind adds to the change commands' parser (src/listeners/commands/change-args.ts): the parser knows it,
 * suggests it for a mistyped flag, and hands its value to `read`.
 */
export interface CommandFlag {
  /** The option as typed, lower case: `--for`. */
  name: `--${string}`;
  /** What its value makes of the draft (read so far: its kind is the command's), or the problem to answer. */
  read(value: string, draft: ChangeDraft): DraftPatch | { problem: string };
  /** A flag without a value (`--break-glass`): `read` gets ''. */
  bare?: boolean;
  /** Once the whole command is read: the problem with it as this flag sees it (e.g. another flag it needs), if any. */
  complete?(draft: ChangeDraft): string | undefined;
}

/** An input a kind adds to a change form (the group membership form, src/blocks/membership-modal.ts). */
export interface FormField {
  /** Its name: what its problems are keyed by (ValidationError fields), as the shared fields' `groups`. */
  name: string;
  /** Its block id in the form. */
  blockId: string;
  /** The forms (by the kind they open for) that show it, after the shared fields but before the reason. */
  forms: readonly ChangeKind[];
  /** The input, pre-filled from the draft the command typed: its label, element, hint and whether it is optional. */
  input(prefill: Partial<ChangeDraft>): {
    label: string;
    element: Record<string, unknown>;
    hint?: string;
    optional?: boolean;
  };
  /** What its submitted value (trimmed; undefined when empty) makes of the draft. */
  read(value: string | undefined, draft: ChangeDraft): DraftPatch;
}

/**
 * A check a kind makes on change drafts (src/services/kinds/change-requests.ts checkChangeDraft): on its own kind's
 * drafts, or on another kind's that its own changes (a membership for a time refuses a permanent add of a group the
 * policy grants only for a time).
 */
export interface DraftCheck {
  /** The kinds whose drafts it checks. */
  kinds: readonly ChangeKind[];
  /**
   * Against the policy, before IAM is asked, once the groups are known to be the policy's (`chosen`: their policy
   * entries): problems by field, none when it passes.
   */
  local?(
    policy: Policy,
    draft: ChangeDraft & { userName: string },
    chosen: readonly PolicyGroup[],
  ): Record<string, string>;
  /**
   * Of the user's groups now, those that do not count as held when the draft adds groups (a membership for a time:
   * asking for it for good is not "already in"). Asked only when the user is in one of the draft's groups. Reads only.
   */
  notHeld?(deps: Pick<Deps, 'store'>, account: string, userName: string): Promise<ReadonlySet<string>>;
}

/**
 * How a kind's changes are typed and checked beyond the shared fields: the flags it adds to the change commands, the
 * inputs it adds to the forms, its checks, and what its checked fields store on the request.
 */
export interface KindDraftExtension {
  flags?: readonly CommandFlag[];
  formFields?: readonly FormField[];
  checks?: readonly DraftCheck[];
  /**
   * What a checked change of this kind stores besides the shared fields (its `itemFields`, src/kinds/facts.ts) and
   * adds to its `requested` audit event. Pure.
   */
  submitted?(change: CheckedChange): { item?: Partial<AccessRequest>; audit?: Record<string, unknown> };
  /**
   * Whether the checked change is done at once, without approval, by this kind's own rule (break-glass): what the
   * request records as `allowedAtOnce`, or undefined for the usual rules. Throws ValidationError or NotAuthorizedError
   * to refuse it. May read Slack (the requester's standing). Asked of a change checked with IAM (its owner known): at
   * submission of a form, by the worker for an inline command (src/services/kinds/change-at-once.ts).
   */
  atOnce?(
    deps: Pick<Deps, 'config' | 'messenger' | 'clock'>,
    change: CheckedChange,
    requester: string,
  ): Promise<string | undefined>;
}

/** A kind's part of the App Home (src/services/home.ts): blocks shown after the rotations, before the approvals. */
export interface HomeSection {
  /** What it shows, for the log line when it cannot be read (`temporary memberships`). */
  name: string;
  /**
   * Its blocks for the viewer who owns `users` (none: nothing shown). Reads only; a failure is logged and the rest of
   * the tab still shows.
   */
  blocks(deps: Pick<Deps, 'store'>, users: readonly ProjectedUser[], now: Date): Promise<unknown[]>;
}

/**
 * How `/iam help` and the App Home describe a kind's command `/iam <id>` (src/blocks/command-help.ts lists it with the
 * other commands): what it is for, its usage line (every flag the command reads) and an example that works.
 */
export interface KindCommandHelp {
  summary: string;
  usage: string;
  example: string;
}

export interface RequestKindModule {
  /** `request.kind`, `/iam <id>`, `approvals.kinds.<id>`. */
  id: RequestKind;
  /**
   * The help of its command `/iam <id>` (its listener in src/listeners/commands/ reads it through helpOf); none when
   * the kind is asked for by another kind's command (temporary-membership: `/iam add-to-group … --for`).
   */
  command?: KindCommandHelp;
  /** Whether a request of this kind holds its IAM user name (a `name#` item) until it ends. */
  reservesName: boolean;
  /** Who, besides the requester, may not approve, deny, retry or abandon the request, checked in this order. */
  excluded(request: AccessRequest): Exclusion[];
  /** Who approves the request and how many approvals it needs, under the current policy. */
  approvalRule(policy: Policy, request: AccessRequest): ApprovalRule;
  render: {
    /** The approval channel's message about the request, as it stands. */
    approvalMessage(request: AccessRequest, ctx: RenderContext): OutgoingMessage;
    /** The requester's DM about the request's current state. */
    requesterUpdate(request: AccessRequest): OutgoingMessage;
    /** The DM to the approvers of a failed request (the approval message in `channel` shows Retry). */
    approverFailure(request: AccessRequest, channel: string): OutgoingMessage;
    /**
     * The answer under the requester's command once the request is posted in the approval channel `channel`: the
     * worker posts it then, as the command's one answer (the command is acked with no message, since a slash
     * command's response_url cannot replace its ack: bolt-js#2287).
     */
    waiting(request: AccessRequest, channel: string): string;
    /**
     * The command's one answer when the worker's check (verify) found the request may run at once (it recorded it
     * `approved`); undefined: the kind's verify never does so.
     */
    atOnce?(request: AccessRequest, policy: Policy): string;
  };
  /**
   * Who the request names that must be a person in the workspace (not a bot, not deactivated, an id Slack knows),
   * checked against Slack by the one submit path before the approvers are asked; none when omitted.
   */
  people?(request: AccessRequest): PersonCheck[];
  /**
   * What the worker checks with AWS before the request is posted, for what submission left to it (an inline command
   * answers before asking IAM, to stay within Slack's 3 seconds on a cold container): the one submit path calls it
   * first, ends the request with the refusal, or records the fields. A transient failure throws (the job is retried).
   * None when omitted.
   */
  verify?(deps: VerifyDeps, request: AccessRequest): Promise<Verified>;
  /**
   * How a new request of this kind is stored with `alsoWrite` (its audit event) in one transaction, when it reserves
   * something of its own (rotate-key: one rotation of a user at a time); the one submit path calls it instead of its
   * plain write. Throws (ConflictError, ValidationError) when the reservation is held; nothing is stored then. When
   * omitted: the IAM user name is reserved (`reservesName`), or nothing.
   */
  store?(deps: Pick<Deps, 'store'>, request: AccessRequest, alsoWrite: TransactionItem[]): Promise<void>;
  /** How its undelivered credentials are sent again; undefined: the kind delivers none that can be reissued. */
  reissue?: ReissueHook;
  /** How its changes are typed and checked beyond the shared fields (flags, form inputs, checks); none when omitted. */
  draft?: KindDraftExtension;
  /** Its section of the App Home; none when omitted. */
  home?: HomeSection;
  /** Status words. */
  words: {
    /** What a request found stalled midway may have left, listed as `remaining` on the failed request. */
    stalledRemaining(request: AccessRequest): string;
  };
}
