import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { ConfigError } from './errors.js';
import { KIND_GROUP_FIELDS } from './kinds/policy.js';
import { REQUEST_KINDS } from './services/plans/types.js';

// zod/mini, not classic zod: the same validation as functions instead of methods, so that esbuild keeps only what
// is used. In the Slack bundle that is ~150 KB less to load and compile at every cold start. Unlike classic zod,
// zod/mini ships its messages apart: English is configured here.
z.config(en());

const slackUserId = z.string().check(z.regex(/^[UW][A-Z0-9]{2,}$/, 'must be a Slack user id like U0123ABCD'));
const slackUsergroupId = z.string().check(z.regex(/^S[A-Z0-9]{2,}$/, 'must be a Slack user group id like S0123ABCD'));
// IAM allows group names of 128 characters; Slack shows at most 75 in a menu option, and the form must show each.
const iamGroupName = z
  .string()
  .check(
    z.regex(/^[\w+=,.@-]{1,128}$/, 'must be a valid IAM group name'),
    z.maxLength(75, 'must be at most 75 characters: the request form (a Slack menu) shows no more'),
  );
const iamPath = z
  .string()
  .check(z.regex(/^\/([\x21-\x7e]+\/)?$/, 'must start and end with / (IAM path)'), z.maxLength(512));

export { DURATION, durationMs } from './duration.js';

const approvalCount = z.int().check(z.minimum(1), z.maximum(5));

// --- Reasons that say something (issue 21): a group may require its reason to match a pattern. ---
/**
 * `reasonPattern`: a JavaScript regular expression (Unicode mode) the reason of a request for the group must match
 * (anywhere, unless anchored with ^ and $), e.g. a ticket id; `reasonHint`: what the refusal asks for instead.
 * A pattern that is not a valid regular expression fails the build and the start (checkReasonPatterns).
 */
const groupReasonFields = {
  reasonPattern: z.optional(z.string().check(z.minLength(1), z.maxLength(500))),
  reasonHint: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
};

/** The RegExp of a policy group's reasonPattern (Unicode mode). Throws SyntaxError when it is not one. */
export const reasonRegExp = (pattern: string): RegExp => new RegExp(pattern, 'u');

/** Every group whose reasonPattern does not compile, named, with JavaScript's own words. */
function checkReasonPatterns(
  policy: { groups: { name: string; reasonPattern?: string | undefined; reasonHint?: string | undefined }[] },
  ctx: { issues: z.core.$ZodRawIssue[] },
): void {
  for (const [i, g] of policy.groups.entries()) {
    if (g.reasonPattern === undefined) {
      if (g.reasonHint !== undefined)
        ctx.issues.push({
          code: 'custom',
          input: g.reasonHint,
          path: ['groups', i, 'reasonHint'],
          message: `group ${g.name}: reasonHint needs a reasonPattern to explain`,
        });
      continue;
    }
    try {
      reasonRegExp(g.reasonPattern);
    } catch (error) {
      ctx.issues.push({
        code: 'custom',
        input: g.reasonPattern,
        path: ['groups', i, 'reasonPattern'],
        message: `group ${g.name}: reasonPattern ${JSON.stringify(g.reasonPattern)} is not a valid regular expression (${(error as Error).message})`,
      });
    }
  }
}
// --- end of reasons ---

const principals = z.strictObject({
  users: z._default(z.array(slackUserId), []),
  usergroups: z._default(z.array(slackUsergroupId), []),
});

/** The access policy (policy.yml): who approves, what may be granted, and the time limits. */
export const policySchema = z
  .strictObject({
    approvals: z.strictObject({
      channel: z.string().check(z.regex(/^[CG][A-Z0-9]{2,}$/, 'must be a Slack channel id like C0123ABCD')),
      approvers: principals,
      requiredApprovals: z._default(approvalCount, 1),
      /**
       * Per kind of request (create-user, add-to-group, remove-from-group, set-owner): who approves it instead of
       * the global approvers (groups' own approvers still apply to group changes), and how many approvals it needs
       * at least. Default: the global approvers and count.
       */
      kinds: z._default(
        z.partialRecord(
          z.enum(REQUEST_KINDS),
          z.strictObject({ approvers: z.optional(principals), requiredApprovals: z.optional(approvalCount) }),
        ),
        {},
      ),
    }),
    groups: z._default(
      z
        .array(
          z.strictObject({
            name: iamGroupName,
            description: z._default(
              z.string().check(z.maxLength(75, 'must be at most 75 characters: the request form shows no more')),
              '',
            ),
            /** Who may approve requests for this group. Default: the global approvers. */
            approvers: z.optional(principals),
            /** Distinct approvals this group needs. Default: approvals.requiredApprovals. */
            requiredApprovals: z.optional(approvalCount),
            /** What the kinds read from a group of their own (temporary membership, break-glass: src/kinds/policy.ts). */
            ...KIND_GROUP_FIELDS,
            ...groupReasonFields,
          }),
        )
        .check(z.maxLength(1000, 'must list at most 1,000 groups: the request form lists them in 10 parts of 100')),
      [],
    ),
    users: z._default(
      z.strictObject({
        /** IAM path of every user the bot creates. */
        path: z._default(iamPath, '/iam-slack-bot/'),
        /** More paths whose users the bot manages (e.g. users made before it); its role covers only these. */
        managedPaths: z._default(z.array(iamPath), []),
        /** delete-user: days between a user's disabling (at approval) and its deletion; Cancel restores meanwhile. */
        deleteAfterDays: z._default(z.int().check(z.minimum(1), z.maximum(365)), 7),
      }),
      { path: '/iam-slack-bot/', managedPaths: [], deleteAfterDays: 7 },
    ),
    keys: z._default(
      z.strictObject({
        remindAfterDays: z._default(z.int().check(z.minimum(1)), 80),
        maxAgeDays: z._default(z.int().check(z.minimum(1)), 90),
        rotationGraceDays: z._default(z.int().check(z.minimum(0)), 7),
        /** Whether an owner rotating a key of their own user needs approval too. */
        rotationNeedsApproval: z._default(z.boolean(), false),
        /** How long a rotated-out key, once deactivated, can be reactivated before it is deleted. */
        recoveryDays: z._default(z.int().check(z.minimum(0)), 7),
        /** An old key still used after the grace period and one more: deactivate it anyway, or ask the approvers. */
        stillInUse: z._default(z.enum(['deactivate', 'escalate']), 'deactivate'),
        /**
         * Key-age reminders (the daily scan, src/services/key-scan.ts): the ages (days) at which the owner gets a
         * reminder DM before `maxAgeDays`. Default: `remindAfterDays` and five days before `maxAgeDays`.
         */
        reminderDays: z.optional(z.array(z.int().check(z.minimum(1))).check(z.minLength(1), z.maxLength(10))),
        /** Past `maxAgeDays`, the overdue DM is repeated every this many days. */
        overdueRepeatDays: z._default(z.int().check(z.minimum(1)), 7),
        /** Past `maxAgeDays` by this many days, the key is posted (once) in the approval channel. */
        escalateAfterDays: z._default(z.int().check(z.minimum(0)), 7),
        /**
         * Past `maxAgeDays` by `afterDays`: `on` deactivates the key (owner told, audited), `dry-run` only says so in
         * the approval channel, `off` does neither.
         */
        autoDeactivate: z._default(
          z.strictObject({
            mode: z._default(z.enum(['off', 'dry-run', 'on']), 'off'),
            afterDays: z._default(z.int().check(z.minimum(1)), 30),
          }),
          { mode: 'off', afterDays: 30 },
        ),
        /** A key never used, or not used for this many days (and at least this old), gets a suggestion to deactivate it. */
        idleDays: z._default(z.int().check(z.minimum(1)), 90),
        /** "Snooze" in a reminder DM: delays the key's next DM by `days`; at most `maxDaysPerKey` days per key in all. */
        snooze: z._default(
          z.strictObject({
            days: z._default(z.int().check(z.minimum(1), z.maximum(30)), 7),
            maxDaysPerKey: z._default(z.int().check(z.minimum(0), z.maximum(365)), 14),
          }),
          { days: 7, maxDaysPerKey: 14 },
        ),
      }),
      {
        remindAfterDays: 80,
        maxAgeDays: 90,
        rotationGraceDays: 7,
        rotationNeedsApproval: false,
        recoveryDays: 7,
        stillInUse: 'deactivate',
        overdueRepeatDays: 7,
        escalateAfterDays: 7,
        autoDeactivate: { mode: 'off', afterDays: 30 },
        idleDays: 90,
        snooze: { days: 7, maxDaysPerKey: 14 },
      },
    ),
    /**
     * Console users without MFA (CIS 1.10, Security Hub IAM.5): the daily scan reminds their owners on the same ladder
     * as key age, counted in days since the console password was set: reminders on `reminderDays`, an overdue DM from
     * `maxDays` repeated every `overdueRepeatDays`, one post in the approval channel `escalateAfterDays` after that.
     * `remind: false` lists them in `/iam report` only.
     */
    mfa: z._default(
      z.strictObject({
        remind: z._default(z.boolean(), true),
        reminderDays: z._default(z.array(z.int().check(z.minimum(0))).check(z.minLength(1), z.maxLength(10)), [1]),
        maxDays: z._default(z.int().check(z.minimum(1)), 7),
        overdueRepeatDays: z._default(z.int().check(z.minimum(1)), 7),
        escalateAfterDays: z._default(z.int().check(z.minimum(0)), 7),
      }),
      { remind: true, reminderDays: [1], maxDays: 7, overdueRepeatDays: 7, escalateAfterDays: 7 },
    ),
    /**
     * Leavers: what the bot does to the IAM users of someone deactivated in Slack (the `user_change` event, the daily
     * check of every owner with users.info, `/iam offboard`). `disable`: deactivate every access key and delete the
     * console password; `report`: only post what it would do. `exclude`: IAM user names or paths (ending in /)
     * never touched (listed in the report). `recoveryDays`: how long approvers can Reactivate what was disabled.
     * `deleteAfterDays` (optional; unset: never): the users an offboarding disabled are deleted this many days after
     * it (the report names them and the date) unless Reactivate or a new owner (set-owner) kept them, the way
     * `/iam delete-user` deletes; decided by the daily owner check.
     */
    leavers: z._default(
      z.strictObject({
        action: z._default(z.enum(['disable', 'report']), 'disable'),
        exclude: z._default(
          z.array(
            z
              .string()
              .check(
                z.regex(/^([\w+=,.@-]{1,64}|\/([\x21-\x7e]+\/)?)$/, 'must be an IAM user name or an IAM path (/.../)'),
              ),
          ),
          [],
        ),
        recoveryDays: z._default(z.int().check(z.minimum(1), z.maximum(365)), 30),
        deleteAfterDays: z.optional(z.int().check(z.minimum(1), z.maximum(365))),
      }),
      { action: 'disable', exclude: [], recoveryDays: 30 },
    ),
    /**
     * Access reviews from real use (IAM's service last accessed data): every `everyDays` days the worker asks IAM which
     * services each owned managed user and each policy group it belongs to used, then DMs each owner one review with
     * Keep / Remove per group membership (Delete for a user with no activity at all). `callsPerRun`: at most this many
     * IAM calls (job starts and result pages) per worker part of an account's daily run (REVIEW_MAX_PARTS parts a day
     * at most); what is left waits for the next day's run.
     */
    reviews: z._default(
      z.strictObject({
        everyDays: z._default(z.int().check(z.minimum(1), z.maximum(365)), 90),
        callsPerRun: z._default(z.int().check(z.minimum(1), z.maximum(100_000)), 500),
      }),
      { everyDays: 90, callsPerRun: 500 },
    ),
    /**
     * The resumable runner (long requests, e.g. an offboarding of many IAM users): the worker runs a request in parts
     * and hands the rest to a new part before its 60-second timeout. `partBudgetSeconds`: how long one part may take,
     * counted from the worker invocation's start (the injected clock); it starts no step that the slowest one so far
     * says would end past it (a part of the key scan takes no new owner past it); `maxStepsPerPart`: at most this
     * many steps per part (0: no limit).
     */
    runner: z._default(
      z.strictObject({
        partBudgetSeconds: z._default(z.number().check(z.positive(), z.maximum(50)), 40),
        maxStepsPerPart: z._default(z.int().check(z.minimum(0), z.maximum(100_000)), 0),
      }),
      { partBudgetSeconds: 40, maxStepsPerPart: 0 },
    ),
    links: z._default(
      z.strictObject({ lifetimeHours: z._default(z.number().check(z.positive(), z.maximum(168)), 24) }),
      { lifetimeHours: 24 },
    ),
    requests: z._default(
      z.strictObject({
        lifetimeHours: z._default(z.number().check(z.positive(), z.maximum(720)), 72),
        /** How long a failed request may wait for Retry or Abandon before the scheduled task abandons it. */
        failedLifetimeDays: z._default(z.number().check(z.positive(), z.maximum(90)), 7),
      }),
      { lifetimeHours: 72, failedLifetimeDays: 7 },
    ),
    accounts: z._default(
      z
        .array(
          z.strictObject({
            name: z
              .string()
              .check(z.regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'must be lower-case letters, digits and dashes')),
            roleArn: z.string().check(
              z.regex(/^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'must be an IAM role ARN'),
              // a partition, the account id, a path of up to 512 characters and a name of up to 64
              z.maxLength(620, 'is longer than an IAM role ARN can be'),
            ),
            externalId: z.optional(z.string().check(z.minLength(2), z.maxLength(1224))),
          }),
        )
        .check(
          z.maxLength(
            99,
            'must list at most 99 accounts: the request form offers them and home in one Slack menu (100)',
          ),
        ),
      [],
    ),
  })
  .check(
    z.superRefine((policy, ctx) => {
      // Its roles grant user actions on `user<path>*`: the root path would be every IAM user, administrators included.
      for (const [i, p] of [policy.users.path, ...policy.users.managedPaths].entries()) {
        if (p === '/')
          ctx.issues.push({
            code: 'custom',
            input: p,
            path: i === 0 ? ['users', 'path'] : ['users', 'managedPaths', i - 1],
            message:
              'must not be / (the bot would manage every IAM user, administrators included): use a path of its own',
          });
      }
      if (policy.keys.remindAfterDays >= policy.keys.maxAgeDays) {
        ctx.issues.push({
          code: 'custom',
          input: policy.keys.remindAfterDays,
          path: ['keys', 'remindAfterDays'],
          message: 'must be less than keys.maxAgeDays',
        });
      }
      for (const [i, d] of (policy.keys.reminderDays ?? []).entries()) {
        if (d >= policy.keys.maxAgeDays)
          ctx.issues.push({
            code: 'custom',
            input: d,
            path: ['keys', 'reminderDays', i],
            message: `must be less than keys.maxAgeDays (${policy.keys.maxAgeDays}): from that age on the key is overdue`,
          });
      }
      if (policy.keys.snooze.maxDaysPerKey > 0 && policy.keys.snooze.maxDaysPerKey < policy.keys.snooze.days)
        ctx.issues.push({
          code: 'custom',
          input: policy.keys.snooze.maxDaysPerKey,
          path: ['keys', 'snooze', 'maxDaysPerKey'],
          message: `must be at least keys.snooze.days (${policy.keys.snooze.days}), or 0 to turn snoozing off`,
        });
      const seen = new Set<string>();
      for (const [i, g] of policy.groups.entries()) {
        if (seen.has(g.name))
          ctx.issues.push({
            code: 'custom',
            input: g.name,
            path: ['groups', i, 'name'],
            message: `duplicate group ${g.name}`,
          });
        seen.add(g.name);
      }
      const names = new Set<string>();
      for (const [i, a] of policy.accounts.entries()) {
        if (a.name === 'home' || names.has(a.name)) {
          ctx.issues.push({
            code: 'custom',
            input: a.name,
            path: ['accounts', i, 'name'],
            message: `account name ${a.name} is reserved or repeated`,
          });
        }
        names.add(a.name);
      }
    }),
  )
  .check(z.superRefine((policy, ctx) => checkReasonPatterns(policy, ctx)));

export type Policy = z.infer<typeof policySchema>;

/**
 * The ages (days, ascending, without repeats) at which a key's owner is reminded before `maxAgeDays`:
 * `keys.reminderDays`, or by default `remindAfterDays` and five days before the maximum.
 */
export function reminderDaysOf(keys: Policy['keys']): number[] {
  const days = keys.reminderDays ?? [keys.remindAfterDays, keys.maxAgeDays - 5];
  return [...new Set(days)].filter((d) => d >= 1 && d < keys.maxAgeDays).sort((a, b) => a - b);
}
export type GroupPolicy = Policy['groups'][number];
export type Principals = z.infer<typeof principals>;

/** An empty variable counts as unset (`.env` files often have `NAME=`). */
const emptyAsUnset = <T extends z.ZodMiniType>(schema: T) =>
  z.pipe(
    z.transform((v: unknown) => (v === '' ? undefined : v)),
    schema,
  );
const optionalUrl = emptyAsUnset(z.optional(z.url()));
const optionalString = emptyAsUnset(z.optional(z.string()));

/** Environment variables the bot reads. Names are part of the public interface (README, .env.example). */
export const envSchema = z.object({
  SLACK_SIGNING_SECRET: z
    .string({ error: 'is required (Slack app > Basic Information > Signing Secret)' })
    .check(z.minLength(8, 'is too short')),
  SLACK_BOT_TOKEN: z
    .string({ error: 'is required (Slack app > OAuth & Permissions > Bot User OAuth Token)' })
    .check(z.regex(/^xoxb-/, 'must start with xoxb-')),
  SLACK_APP_TOKEN: emptyAsUnset(z.optional(z.string().check(z.regex(/^xapp-/, 'must start with xapp-')))),
  SLACK_API_URL: optionalUrl,
  SLACK_BOT_ID: optionalString,
  SLACK_BOT_USER_ID: optionalString,
  /** The workspace the app is installed in (auth.test's team_id): approvers must be its full members. */
  SLACK_TEAM_ID: optionalString,
  POLICY_FILE: z._default(z.string(), 'policy.yml'),
  PORT: z._default(z.pipe(z.coerce.number(), z.int().check(z.minimum(1), z.maximum(65535))), 3000),
  AWS_REGION: z._default(z.string(), 'us-east-1'),
  AWS_ENDPOINT_URL: optionalUrl,
  /** DynamoDB's own endpoint (the SDK's service-specific variable), e.g. DynamoDB Local; else AWS_ENDPOINT_URL. */
  AWS_ENDPOINT_URL_DYNAMODB: optionalUrl,
  TABLE_PREFIX: z._default(z.string().check(z.regex(/^[\w.-]*$/)), 'iam-slack-bot-'),
  SECRET_PREFIX: z._default(z.string().check(z.regex(/^[\w/+=.@-]+\/$/, 'must end with /')), 'iam-slack-bot/'),
  PUBLIC_URL: emptyAsUnset(z._default(z.url(), 'http://localhost:3000')),
  WORKER_FUNCTION_NAME: optionalString,
  /** The daily owner check: members a users.list page asks for (Slack recommends at most 200). */
  OWNER_CHECK_PAGE_SIZE: z._default(z.pipe(z.coerce.number(), z.int().check(z.minimum(1), z.maximum(1000))), 200),
  /** The daily owner check: users.list pages (tier 2) one worker part walks before handing on to the next part. */
  OWNER_CHECK_PAGES_PER_PART: z._default(z.pipe(z.coerce.number(), z.int().check(z.minimum(1))), 10),
  /** The daily owner check: users.info calls (tier 4) one part makes for owners users.list did not list. */
  OWNER_CHECK_LOOKUPS_PER_PART: z._default(z.pipe(z.coerce.number(), z.int().check(z.minimum(1))), 100),
  /**
   * The daily owner check: how long one worker part may take (ms, within the worker's 60 s); a part starts no page or
   * lookup that the slowest one so far says could not finish within it.
   */
  OWNER_CHECK_PART_MS: z._default(z.pipe(z.coerce.number(), z.int().check(z.minimum(1), z.maximum(55_000))), 40_000),
  /**
   * The projection refresh (one worker part per account, src/jobs/projection-refresh.ts): how long one part may take
   * (ms, within the worker's 60 s); a part starts no user that the slowest one so far says could not finish within
   * it, and hands the rest of the account to a continuation part.
   */
  PROJECTION_PART_MS: z._default(z.pipe(z.coerce.number(), z.int().check(z.minimum(1), z.maximum(55_000))), 40_000),
  /**
   * The access review (src/services/access-review.ts): how long one worker part of an account's daily run may take
   * (ms from the invocation's start, within the worker's 60 s); a part starts no IAM call, and no owner's DM, that the
   * slowest one so far says could not finish within it, and hands the rest to a continuation part.
   */
  REVIEW_PART_MS: z._default(z.pipe(z.coerce.number(), z.int().check(z.minimum(1), z.maximum(55_000))), 40_000),
  /**
   * The access review: parts of an account's daily run at most, the first included (each makes at most the policy's
   * `reviews.callsPerRun` IAM calls). What is left after the last part waits for the next day's run.
   */
  REVIEW_MAX_PARTS: z._default(z.pipe(z.coerce.number(), z.int().check(z.minimum(1), z.maximum(8))), 8),
  /** The projection refresh: users one part refreshes at most (0: no limit but PROJECTION_PART_MS). */
  PROJECTION_USERS_PER_PART: z._default(z.pipe(z.coerce.number(), z.int().check(z.minimum(0))), 0),
  /**
   * The projection refresh: parts of one account's refresh at most, the first included (a chain of at most this many
   * hops; Lambda's loop detection stops a chain at about 16). What is left after the last part waits for the next
   * refresh, 15 minutes later, which goes on faster: the users refreshed already cost no IAM call then.
   */
  PROJECTION_MAX_PARTS: z._default(z.pipe(z.coerce.number(), z.int().check(z.minimum(1), z.maximum(8))), 8),
  /**
   * The projection refresh: accounts one part takes in turn (the schedule dispatches one part per this many
   * accounts); a part hands an account it cut short, and the accounts it did not start, to parts of their own.
   */
  PROJECTION_ACCOUNTS_PER_PART: z._default(
    z.pipe(z.coerce.number(), z.int().check(z.minimum(1), z.maximum(1_000))),
    10,
  ),
  /**
   * The daily owner check: owners not yet seen kept per DynamoDB item between parts (about 14 bytes each; 5,000 is
   * some 70 KB, well within an item's 400 KB).
   */
  OWNER_CHECK_UNSEEN_PER_ITEM: z._default(
    z.pipe(z.coerce.number(), z.int().check(z.minimum(1), z.maximum(20_000))),
    5000,
  ),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env;
  policy: Policy;
}

function formatIssues(prefix: string, error: z.core.$ZodError): string[] {
  return error.issues.map((issue) => {
    const where = issue.path.length ? issue.path.join('.') : '(root)';
    return `${prefix}${where}: ${issue.message}`;
  });
}

/**
 * Reads a policy file (YAML, or JSON when its name ends in `.json`) and checks it. Throws a ConfigError listing every
 * problem. Returns the file as parsed, before defaults, so that a compiled copy validates exactly as the source.
 */
export function readPolicyFile(policyFile: string, readFile: (path: string) => string): unknown {
  let raw: unknown;
  try {
    const text = readFile(policyFile);
    raw = policyFile.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    const as = policyFile.endsWith('.json') ? 'JSON' : 'YAML';
    throw new ConfigError([`${policyFile}: cannot be read as ${as} (${(error as Error).message.split('\n')[0]})`]);
  }
  const result = policySchema.safeParse(raw ?? {});
  if (!result.success) throw new ConfigError(formatIssues(`${policyFile}: `, result.error));
  return raw;
}

/**
 * Parses the environment and the policy file. Collects every problem of both before failing, so one start-up
 * shows all that needs fixing.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): Config {
  const problems: string[] = [];
  const envResult = envSchema.safeParse(env);
  if (!envResult.success) problems.push(...formatIssues('', envResult.error));

  // On Lambda the policy is JSON: `npm run build` checks policy.yml and writes it as dist/policy.json, so a
  // cold start parses no YAML (about 15 ms less; see scripts/build.mjs).
  const policyFile = env.POLICY_FILE || 'policy.yml';
  let policy: Policy | undefined;
  try {
    policy = policySchema.parse(readPolicyFile(policyFile, readFile) ?? {});
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }

  if (problems.length > 0 || !envResult.success || !policy) throw new ConfigError(problems);
  return { env: envResult.data, policy };
}
