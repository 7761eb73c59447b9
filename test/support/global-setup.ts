/**
 * Once per `vitest run`. Before: forgets the AWS calls an earlier run recorded. After a run of the whole suite: every
 * permission the generated roles grant must have been used by a call some test made (test/support/role-checker.ts
 * records which statement allowed each call), so that no function's role grants an action its code never calls.
 * A run of some files only (`vitest run test/unit`) skips the check: it cannot see every call.
 *
 * It also starts the run's one DynamoDB Local (AWS's own DynamoDB engine, src/local/dynamodb-local.ts) and provides
 * its URL to every test file (`inject('dynamoDbUrl')`): one JVM for the whole run, shared by the workers. Each test
 * bot keeps to tables of its own (test/support/bot.ts gives it a table prefix of its own and drops its tables when it
 * stops), so files and bots never see each other's tables.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { FUNCTIONS, functionPolicy } from '../../src/deploy/roles.js';
import { startDynamoDbLocal } from '../../src/local/dynamodb-local.js';
import { testPolicy } from './policy.js';
import { CALLS_ROOT } from './role-checker.js';

/** Whether vitest was asked for some test files only (positional filters, `-t`, `--project`...). */
function partialRun(argv = process.argv.slice(2)): boolean {
  const args = argv.filter((a) => a !== 'run' && a !== 'vitest' && !a.endsWith('vitest.mjs'));
  return args.some((a) => !a.startsWith('-') || a === '-t' || a.startsWith('--testNamePattern'));
}

/** Every (function, scope, statement, action) the roles grant, for a policy with groups and a named account. */
export function grantedPermissions(): string[] {
  const policy = loadConfig({ SLACK_SIGNING_SECRET: 'unused-here', SLACK_BOT_TOKEN: 'xoxb-unused' }, () =>
    stringify(testPolicy({ accounts: [{ name: 'staging', roleArn: 'arn:aws:iam::111111111111:role/iam-slack-bot' }] })),
  ).policy;
  const target = {
    partition: 'aws',
    region: 'us-east-1',
    accountId: '123456789012',
    tablePrefix: 'test-',
    secretPrefix: 'iam-slack-bot/',
    workerFunctionName: 'worker',
  };
  const granted: string[] = [];
  for (const fn of FUNCTIONS) {
    for (const s of functionPolicy(policy, fn, target).Statement)
      for (const action of s.Action) granted.push(`${fn}\thome\t${s.Sid}\t${action}`);
  }
  // A named account's role is the union of the IAM needs of the functions that act there, each covered at home:
  // the same code runs in every account.
  return granted;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's DynamoDB Local (test/support/bot.ts points every test bot's DynamoDB at it). */
    dynamoDbUrl: string;
  }
}

export default async function setup(project: TestProject) {
  // A directory of this run's own: runs at the same time (a partial one beside a full one) do not mix.
  const dir = path.join(CALLS_ROOT, `${process.pid}-${Date.now()}`);
  process.env.IAM_SLACK_BOT_ROLE_CALLS = dir;
  // IAM_SLACK_BOT_TEST_DYNAMODB=moto: each bot's DynamoDB is its moto server (test/support/bot.ts), no JVM.
  const dynamo = process.env.IAM_SLACK_BOT_TEST_DYNAMODB === 'moto' ? undefined : await startDynamoDbLocal();
  project.provide('dynamoDbUrl', dynamo?.url ?? '');
  return async () => {
    await dynamo?.stop();
    const seen = new Set<string>();
    try {
      for (const file of readdirSync(dir))
        for (const line of readFileSync(path.join(dir, file), 'utf8').split('\n')) if (line) seen.add(line);
    } catch {
      // no call recorded at all
    }
    rmSync(dir, { recursive: true, force: true });
    if (partialRun()) return;
    const used = (g: string) => {
      const [fn, scope, sid, action] = g.split('\t');
      // Assumed-role credentials are cached per process, shared in tests by every function: a function that acted
      // in a named account has assumed its role.
      if (sid === 'AssumeAccountRoles') return [...seen].some((s) => s.startsWith(`${fn}\taccount\t`));
      return seen.has(`${fn}\t${scope}\t${sid}\t${action}`);
    };
    const unused = grantedPermissions().filter((g) => !used(g));
    if (unused.length) {
      console.error(
        `\nThe generated roles grant permissions no test used (src/deploy/roles.ts BASE_NEEDS, or a kind's src/kinds/permissions/<kind>.ts): remove them, or ` +
          `test the code that needs them.\n  ${unused.map((u) => u.replace(/\t/g, ' ')).join('\n  ')}\n`,
      );
      process.exitCode = 1;
    }
  };
}
