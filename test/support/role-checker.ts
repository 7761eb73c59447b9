/**
 * The role checker: moto grants every call whatever the role says, real IAM does not. Every AWS request the bot makes
 * in the suite is recorded through SDK middleware (function, service, action, parameters), mapped to the resource
 * ARNs IAM evaluates, and evaluated with a real IAM policy evaluator (@cloud-copilot/iam-simulate) against the role
 * src/deploy/roles.ts derives for the function that made it (or, in a named account, that account's role). A call
 * that would be denied fails the test file (test/support/setup.ts), naming function, action and resource.
 *
 * Which function makes a call is known from an AsyncLocalStorage context that the test harness sets around each
 * handler (test/support/bot.ts): the Slack handler, the credential page, the worker's jobs, the scheduled tasks.
 * Calls made by test code itself (setting up or inspecting moto) run outside any function and are not checked.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { GetAccessKeyLastUsedCommand, GetGroupCommand, GetUserCommand, IAMClient } from '@aws-sdk/client-iam';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { Policy } from '../../src/config.js';
import { accountRolePolicy, type FunctionName, functionPolicy, type PolicyDocument } from '../../src/deploy/roles.js';

/** moto's default account id: the bot's home account in tests. */
export const HOME_ACCOUNT_ID = '123456789012';
const REGION = 'us-east-1';
const PARTITION = 'aws';

/** Where runs write which statement allowed which call, for the whole-suite check (test/support/global-setup.ts). */
export const CALLS_ROOT = path.resolve(import.meta.dirname, '../../node_modules/.cache/iam-slack-bot-role-calls');
/** The directory of this run (set by the global setup, inherited by the test workers). */
export const callsDir = () => process.env.IAM_SLACK_BOT_ROLE_CALLS ?? path.join(CALLS_ROOT, 'unattached');

const functionContext = new AsyncLocalStorage<FunctionName>();

/** Runs `fn` as the named Lambda function: the AWS calls it makes are checked against that function's role. */
export function asFunction<T>(name: FunctionName, fn: () => T): T {
  return functionContext.run(name, fn);
}

/** Runs `fn` as no function: for the AWS calls test support makes on its own (not checked). */
export function outsideFunctions<T>(fn: () => T): T {
  return functionContext.exit(fn);
}

/** The function whose code is running, if any. */
export const currentFunction = () => functionContext.getStore();

/** One AWS request, as IAM would authorize it. */
export interface CheckedCall {
  fn: FunctionName;
  /** `home` or the policy's account name. */
  account: string;
  action: string;
  resources: string[];
  allowed: boolean;
}

export interface RoleCheckerOptions {
  policy: Policy;
  endpoint: string;
  /** TABLE_PREFIX, SECRET_PREFIX and the worker's function name, as the bot runs with them. */
  tablePrefix: string;
  secretPrefix: string;
  workerFunctionName?: string;
}

interface Lookup {
  iam: IAMClient;
  /** Path of each user known to exist (cleared when deleted). */
  userPaths: Map<string, string>;
  groupPaths: Map<string, string>;
}

const calls: CheckedCall[] = [];
let seen: Set<string> | undefined;

/** Every call checked in this test file so far. */
export const checkedCalls = (): readonly CheckedCall[] => calls;

/** DynamoDB calls that only tests make: dynamoose creates missing tables when `create: true` (never on Lambda). */
const TABLE_SETUP = new Set(['DescribeTable', 'CreateTable', 'UpdateTimeToLive', 'DescribeTimeToLive']);

/** IAM actions whose resource is the user named by `UserName`. */
const USER_ACTIONS = new Set([
  'CreateUser',
  'GetUser',
  'DeleteUser',
  'UpdateUser',
  'TagUser',
  'UntagUser',
  'ListUserTags',
  'ListGroupsForUser',
  'CreateLoginProfile',
  'GetLoginProfile',
  'UpdateLoginProfile',
  'DeleteLoginProfile',
  'CreateAccessKey',
  'UpdateAccessKey',
  'DeleteAccessKey',
  'ListAccessKeys',
  'ListMFADevices',
  'PutUserPolicy',
  'DeleteUserPolicy',
  'AttachUserPolicy',
  'DetachUserPolicy',
  'ListUserPolicies',
  'ListAttachedUserPolicies',
  'ListSigningCertificates',
  'DeleteSigningCertificate',
  'ListSSHPublicKeys',
  'DeleteSSHPublicKey',
  'ListServiceSpecificCredentials',
  'DeleteServiceSpecificCredential',
  'ListMFADevices',
  'DeactivateMFADevice',
]);
const GROUP_ACTIONS = new Set(['AddUserToGroup', 'RemoveUserFromGroup', 'GetGroup', 'CreateGroup', 'DeleteGroup']);

/**
 * The checker of one test bot: `decorate(client, account)` adds the recording middleware to a client the bot builds.
 */
export class RoleChecker {
  readonly #options: RoleCheckerOptions;
  readonly #lookups = new Map<string, Lookup>();
  readonly #policies = new Map<string, PolicyDocument>();

  constructor(options: RoleCheckerOptions) {
    this.#options = options;
  }

  /** The calls checked so far in this test file. */
  checked(): readonly CheckedCall[] {
    return calls;
  }

  /** Adds the checking middleware to an SDK client acting in `account` (`home` or a policy account name). */
  decorate = (client: unknown, account = 'home'): void => {
    const c = client as {
      middlewareStack: { add: (mw: unknown, options: unknown) => void };
      config: { credentials: () => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }> };
    };
    c.middlewareStack.add(
      (next: (args: unknown) => Promise<unknown>, context: { commandName?: string; clientName?: string }) =>
        async (args: { input: Record<string, unknown> }) => {
          const fn = currentFunction();
          if (fn) await this.#check(fn, account, context, args.input, c);
          const result = await next(args);
          if (fn && context.commandName === 'DeleteUserCommand')
            this.#lookups.forEach((l) => {
              l.userPaths.delete(String(args.input.UserName));
            });
          return result;
        },
      { step: 'initialize', name: 'iamSlackBotRoleChecker', priority: 'high' },
    );
  };

  /** Records a hand-off to the worker (the in-process dispatcher stands in for lambda:InvokeFunction). */
  async recordInvoke(): Promise<void> {
    const fn = currentFunction();
    if (!fn) return;
    const name = this.#options.workerFunctionName ?? 'iam-slack-bot-test-worker';
    await this.#evaluate(fn, 'home', 'lambda:InvokeFunction', [
      `arn:${PARTITION}:lambda:${REGION}:${HOME_ACCOUNT_ID}:function:${name}`,
    ]);
  }

  #accountId(account: string): string {
    if (account === 'home') return HOME_ACCOUNT_ID;
    const def = this.#options.policy.accounts.find((a) => a.name === account);
    return def?.roleArn.split(':')[4] ?? HOME_ACCOUNT_ID;
  }

  async #lookup(account: string, client: { config: { credentials: () => Promise<unknown> } }): Promise<Lookup> {
    let lookup = this.#lookups.get(account);
    if (!lookup) {
      const credentials = (await client.config.credentials()) as { accessKeyId: string; secretAccessKey: string };
      lookup = {
        iam: new IAMClient({ region: REGION, endpoint: this.#options.endpoint, credentials }),
        userPaths: new Map(),
        groupPaths: new Map(),
      };
      this.#lookups.set(account, lookup);
    }
    return lookup;
  }

  /** The ARN IAM evaluates for a user: with its path when it exists, `user/<name>` when it does not. */
  async #userArn(account: string, client: never, userName: string): Promise<string> {
    const lookup = await this.#lookup(account, client);
    let p = lookup.userPaths.get(userName);
    if (p === undefined) {
      try {
        const out = await lookup.iam.send(new GetUserCommand({ UserName: userName }));
        p = out.User?.Path ?? '/';
        lookup.userPaths.set(userName, p);
      } catch {
        p = '/';
      }
    }
    return `arn:${PARTITION}:iam::${this.#accountId(account)}:user${p}${userName}`;
  }

  async #groupArn(account: string, client: never, group: string): Promise<string> {
    const lookup = await this.#lookup(account, client);
    let p = lookup.groupPaths.get(group);
    if (p === undefined) {
      try {
        const out = await lookup.iam.send(new GetGroupCommand({ GroupName: group }));
        p = out.Group?.Path ?? '/';
        lookup.groupPaths.set(group, p);
      } catch {
        p = '/';
      }
    }
    return `arn:${PARTITION}:iam::${this.#accountId(account)}:group${p}${group}`;
  }

  async #check(
    fn: FunctionName,
    account: string,
    context: { commandName?: string; clientName?: string },
    input: Record<string, unknown>,
    client: unknown,
  ): Promise<void> {
    const action = (context.commandName ?? '').replace(/Command$/, '');
    const service = (context.clientName ?? '').replace(/Client$/, '').toLowerCase();
    const c = client as never;
    const acct = this.#accountId(account);
    let resources: string[];
    let evaluated = action;
    switch (service) {
      case 'iam': {
        if (action === 'CreateUser') {
          resources = [`arn:${PARTITION}:iam::${acct}:user${String(input.Path ?? '/')}${String(input.UserName)}`];
          // IAM also requires iam:TagUser to create a user with tags.
          if ((input.Tags as unknown[] | undefined)?.length)
            await this.#evaluate(fn, account, 'iam:TagUser', resources);
        } else if (USER_ACTIONS.has(action)) {
          resources = [await this.#userArn(account, c, String(input.UserName))];
        } else if (action === 'GenerateServiceLastAccessedDetails') {
          // authorized against the entity the job is about (a user, group, role or policy): its ARN is the input
          resources = [String(input.Arn)];
        } else if (action === 'GetAccessKeyLastUsed') {
          const lookup = await this.#lookup(account, c);
          const out = await lookup.iam
            .send(new GetAccessKeyLastUsedCommand({ AccessKeyId: String(input.AccessKeyId) }))
            .catch(() => undefined);
          resources = [await this.#userArn(account, c, out?.UserName ?? 'unknown-key-owner')];
        } else if (action === 'DeleteVirtualMFADevice') {
          // a virtual MFA device's resource is its own ARN, its serial number
          resources = [String(input.SerialNumber)];
        } else if (GROUP_ACTIONS.has(action)) {
          resources = [await this.#groupArn(account, c, String(input.GroupName))];
        } else {
          resources = ['*'];
        }
        break;
      }
      case 'sts':
        // GetCallerIdentity needs no permission (IAM allows it whatever the policies say).
        if (action === 'GetCallerIdentity') return;
        resources = action === 'AssumeRole' ? [String(input.RoleArn)] : ['*'];
        break;
      case 'secretsmanager': {
        const id = String(input.SecretId ?? input.Name ?? '');
        // A secret's ARN is its name and six random characters; the name may be given as the ARN itself.
        resources = id
          ? [id.startsWith('arn:') ? id : `arn:${PARTITION}:secretsmanager:${REGION}:${acct}:secret:${id}-AbCdEf`]
          : ['*'];
        // Secrets Manager also requires secretsmanager:TagResource to create a secret with tags.
        if (action === 'CreateSecret' && (input.Tags as unknown[] | undefined)?.length)
          await this.#evaluate(fn, account, 'secretsmanager:TagResource', resources);
        break;
      }
      case 'dynamodb': {
        if (TABLE_SETUP.has(action)) return;
        const tableArn = (name: string) => `arn:${PARTITION}:dynamodb:${REGION}:${acct}:table/${name}`;
        if (action === 'TransactWriteItems' || action === 'TransactGetItems') {
          // IAM authorizes each item with the action it performs.
          for (const item of (input.TransactItems as Record<string, { TableName: string }>[]) ?? []) {
            for (const [kind, op] of Object.entries(item)) {
              const perItem =
                {
                  Put: 'PutItem',
                  Update: 'UpdateItem',
                  Delete: 'DeleteItem',
                  ConditionCheck: 'ConditionCheckItem',
                  Get: 'GetItem',
                }[kind] ?? kind;
              await this.#evaluate(fn, account, `dynamodb:${perItem}`, [tableArn(op.TableName)]);
            }
          }
          return;
        }
        if (action === 'BatchGetItem' || action === 'BatchWriteItem') {
          for (const table of Object.keys((input.RequestItems as object) ?? {}))
            await this.#evaluate(fn, account, `dynamodb:${action}`, [tableArn(table)]);
          return;
        }
        const table = String(input.TableName);
        resources = [input.IndexName ? `${tableArn(table)}/index/${String(input.IndexName)}` : tableArn(table)];
        break;
      }
      case 'lambda':
        resources = [
          `arn:${PARTITION}:lambda:${REGION}:${acct}:function:${String(input.FunctionName)}`.replace(
            /function:arn:.*:function:/,
            'function:',
          ),
        ];
        evaluated = action === 'Invoke' ? 'InvokeFunction' : action;
        break;
      default:
        resources = ['*'];
    }
    await this.#evaluate(fn, account, `${service}:${evaluated}`, resources);
  }

  #policy(fn: FunctionName, account: string): PolicyDocument {
    const key = `${fn}@${account}`;
    let doc = this.#policies.get(key);
    if (!doc) {
      doc =
        account === 'home'
          ? functionPolicy(this.#options.policy, fn, {
              partition: PARTITION,
              region: REGION,
              accountId: HOME_ACCOUNT_ID,
              tablePrefix: this.#options.tablePrefix,
              secretPrefix: this.#options.secretPrefix,
              workerFunctionName: this.#options.workerFunctionName ?? 'iam-slack-bot-test-worker',
            })
          : accountRolePolicy(this.#options.policy, account, PARTITION);
      this.#policies.set(key, doc);
    }
    return doc;
  }

  async #evaluate(fn: FunctionName, account: string, action: string, resources: string[]): Promise<void> {
    let allowed = true;
    for (const resource of resources) {
      const sids = await allowingStatements(this.#policy(fn, account), action, resource, this.#accountId(account));
      if (!sids.length) allowed = false;
      for (const sid of sids) recordSeen(fn, account === 'home' ? 'home' : 'account', sid, action);
    }
    calls.push({ fn, account, action, resources, allowed });
  }
}

/** Whether an identity policy allows `action` on `resource`, as IAM would decide it. */
export async function isAllowed(
  policy: PolicyDocument,
  action: string,
  resource: string,
  accountId = HOME_ACCOUNT_ID,
): Promise<boolean> {
  return (await allowingStatements(policy, action, resource, accountId)).length > 0;
}

/** The Sids of the statements that allow `action` on `resource` (none: IAM denies it). */
export async function allowingStatements(
  policy: PolicyDocument,
  action: string,
  resource: string,
  accountId = HOME_ACCOUNT_ID,
): Promise<string[]> {
  const result = await runSimulation(
    {
      identityPolicies: [{ name: 'role', policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: undefined,
      request: {
        principal: `arn:${PARTITION}:iam::${accountId}:role/iam-slack-bot-test`,
        action,
        resource: { resource, accountId },
        contextVariables: {},
      },
    },
    {},
  );
  if (result.resultType === 'error')
    throw new Error(`iam-simulate could not evaluate ${action} on ${resource}: ${JSON.stringify(result.errors)}`);
  if (result.resultType !== 'single' || result.overallResult !== 'Allowed') return [];
  const allow = (
    result.result.analysis as { identityAnalysis?: { allowStatements?: { explain: { identifier?: string } }[] } }
  ).identityAnalysis?.allowStatements;
  return (allow ?? []).map((a) => a.explain.identifier ?? '?');
}

/** Writes which statement allowed which action of which function, for the whole-suite check. */
function recordSeen(fn: FunctionName, scope: 'home' | 'account', sid: string, action: string) {
  const key = `${fn}\t${scope}\t${sid}\t${action}`;
  seen ??= new Set();
  if (seen.has(key)) return;
  seen.add(key);
  mkdirSync(callsDir(), { recursive: true });
  appendFileSync(path.join(callsDir(), `${process.pid}.tsv`), `${key}\n`);
}

/** Throws, listing each one, when a call of this test file would have been denied on AWS; then forgets them. */
export function assertRoleAllowedEveryCall(): void {
  const denied = calls.filter((c) => !c.allowed);
  calls.length = 0;
  if (!denied.length) return;
  const lines = [
    ...new Set(
      denied.map(
        (c) =>
          `${c.fn} function${c.account === 'home' ? '' : ` in account ${c.account}`}: ${c.action} on ${c.resources.join(', ')}`,
      ),
    ),
  ];
  throw new Error(
    `The generated IAM role would deny ${lines.length} AWS call(s) this test file made (src/deploy/roles.ts):\n  ${lines.join('\n  ')}`,
  );
}
