import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors.js';

const slackUserId = z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'must be a Slack user id like U0123ABCD');
const slackUsergroupId = z.string().regex(/^S[A-Z0-9]{2,}$/, 'must be a Slack user group id like S0123ABCD');
const iamGroupName = z.string().regex(/^[\w+=,.@-]{1,128}$/, 'must be a valid IAM group name');

const principals = z
  .object({
    users: z.array(slackUserId).default([]),
    usergroups: z.array(slackUsergroupId).default([]),
  })
  .strict();

/** The access policy (policy.yml): who approves, what may be granted, and the time limits. */
export const policySchema = z
  .object({
    approvals: z
      .object({
        channel: z.string().regex(/^[CG][A-Z0-9]{2,}$/, 'must be a Slack channel id like C0123ABCD'),
        approvers: principals,
        requiredApprovals: z.int().min(1).max(5).default(1),
      })
      .strict(),
    groups: z
      .array(
        z
          .object({
            name: iamGroupName,
            description: z.string().default(''),
            /** Who may approve requests for this group. Default: the global approvers. */
            approvers: principals.optional(),
            /** Distinct approvals this group needs. Default: approvals.requiredApprovals. */
            requiredApprovals: z.int().min(1).max(5).optional(),
          })
          .strict(),
      )
      .default([]),
    users: z
      .object({
        path: z
          .string()
          .regex(/^\/([\x21-\x7e]+\/)?$/, 'must start and end with / (IAM path)')
          .max(512)
          .default('/iam-slack-bot/'),
      })
      .strict()
      .default({ path: '/iam-slack-bot/' }),
    keys: z
      .object({
        remindAfterDays: z.int().min(1).default(80),
        maxAgeDays: z.int().min(1).default(90),
        rotationGraceDays: z.int().min(0).default(7),
      })
      .strict()
      .default({ remindAfterDays: 80, maxAgeDays: 90, rotationGraceDays: 7 }),
    links: z
      .object({ lifetimeHours: z.number().positive().max(168).default(24) })
      .strict()
      .default({ lifetimeHours: 24 }),
    requests: z
      .object({ lifetimeHours: z.number().positive().max(720).default(72) })
      .strict()
      .default({ lifetimeHours: 72 }),
    accounts: z
      .array(
        z
          .object({
            name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'must be lower-case letters, digits and dashes'),
            roleArn: z.string().regex(/^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'must be an IAM role ARN'),
            externalId: z.string().min(2).max(1224).optional(),
          })
          .strict(),
      )
      .default([]),
  })
  .strict()
  .superRefine((policy, ctx) => {
    if (policy.keys.remindAfterDays >= policy.keys.maxAgeDays) {
      ctx.addIssue({ code: 'custom', path: ['keys', 'remindAfterDays'], message: 'must be less than keys.maxAgeDays' });
    }
    const seen = new Set<string>();
    for (const [i, g] of policy.groups.entries()) {
      if (seen.has(g.name))
        ctx.addIssue({ code: 'custom', path: ['groups', i, 'name'], message: `duplicate group ${g.name}` });
      seen.add(g.name);
    }
    const names = new Set<string>();
    for (const [i, a] of policy.accounts.entries()) {
      if (a.name === 'home' || names.has(a.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['accounts', i, 'name'],
          message: `account name ${a.name} is reserved or repeated`,
        });
      }
      names.add(a.name);
    }
  });

export type Policy = z.infer<typeof policySchema>;
export type GroupPolicy = Policy['groups'][number];
export type Principals = z.infer<typeof principals>;

const optionalUrl = z.preprocess((v) => (v === '' ? undefined : v), z.url().optional());
const optionalString = z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());

/** Environment variables the bot reads. Names are part of the public interface (README, .env.example). */
export const envSchema = z.object({
  SLACK_SIGNING_SECRET: z
    .string({ error: 'is required (Slack app > Basic Information > Signing Secret)' })
    .min(8, 'is too short'),
  SLACK_BOT_TOKEN: z
    .string({ error: 'is required (Slack app > OAuth & Permissions > Bot User OAuth Token)' })
    .regex(/^xoxb-/, 'must start with xoxb-'),
  SLACK_APP_TOKEN: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .regex(/^xapp-/, 'must start with xapp-')
      .optional(),
  ),
  SLACK_API_URL: optionalUrl,
  SLACK_BOT_ID: optionalString,
  SLACK_BOT_USER_ID: optionalString,
  POLICY_FILE: z.string().default('policy.yml'),
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  AWS_REGION: z.string().default('us-east-1'),
  AWS_ENDPOINT_URL: optionalUrl,
  TABLE_PREFIX: z
    .string()
    .regex(/^[\w.-]*$/)
    .default('iam-slack-bot-'),
  SECRET_PREFIX: z
    .string()
    .regex(/^[\w/+=.@-]+\/$/, 'must end with /')
    .default('iam-slack-bot/'),
  PUBLIC_URL: z.preprocess((v) => (v === '' ? undefined : v), z.url().default('http://localhost:3000')),
  WORKER_FUNCTION_NAME: optionalString,
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env;
  policy: Policy;
}

function formatIssues(prefix: string, error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const where = issue.path.length ? issue.path.join('.') : '(root)';
    return `${prefix}${where}: ${issue.message}`;
  });
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

  const policyFile = env.POLICY_FILE || 'policy.yml';
  let policy: Policy | undefined;
  let raw: unknown;
  try {
    raw = parseYaml(readFile(policyFile));
  } catch (error) {
    problems.push(`${policyFile}: cannot be read as YAML (${(error as Error).message.split('\n')[0]})`);
  }
  if (raw !== undefined || problems.length === 0) {
    const policyResult = policySchema.safeParse(raw ?? {});
    if (policyResult.success) policy = policyResult.data;
    else problems.push(...formatIssues(`${policyFile}: `, policyResult.error));
  }

  if (problems.length > 0 || !envResult.success || !policy) throw new ConfigError(problems);
  return { env: envResult.data, policy };
}
