/**
 * The shared leak check: no Slack Web API call, log line, DynamoDB item or Secrets Manager name/description/tag may
 * contain a credential a test created. Test bots record every secret access key IAM hands out (CreateAccessKey),
 * every password sent to IAM (CreateLoginProfile, UpdateLoginProfile) and every secret field stored with
 * CreateSecret; test/support/setup.ts runs `assertNoLeaks` after every test file.
 */
import { DynamoDBClient, ListTablesCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { RecordedCall } from '../../src/local/fake-slack.js';

/** Values shorter than this are not tracked: they would match by chance. */
const MIN_LENGTH = 8;

/** Every credential value created in this test file, with where it came from (never printed). */
export const createdSecrets = new Map<string, string>();

export function recordSecret(value: unknown, origin: string): void {
  if (typeof value === 'string' && value.length >= MIN_LENGTH && !createdSecrets.has(value)) {
    createdSecrets.set(value, origin);
  }
}

type Handler = (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>;
interface MiddlewareClient {
  middlewareStack: {
    add(
      middleware: (next: Handler, context: { commandName?: string }) => Handler,
      options: { step: 'initialize'; name: string },
    ): void;
  };
}

/** SDK middleware that records the credentials passing through a client (AwsAccounts' decorateClient hook). */
export function recordCreatedSecrets(client: unknown): void {
  (client as MiddlewareClient).middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? '';
      const input = args.input;
      if (command === 'CreateLoginProfileCommand' || command === 'UpdateLoginProfileCommand') {
        recordSecret(input.Password, `${command} password`);
      }
      if (command === 'CreateSecretCommand' && typeof input.SecretString === 'string') {
        try {
          const bundle = JSON.parse(input.SecretString) as {
            accessKey?: { secretAccessKey?: unknown };
            console?: { password?: unknown };
          };
          recordSecret(bundle.accessKey?.secretAccessKey, 'secret access key stored in Secrets Manager');
          recordSecret(bundle.console?.password, 'password stored in Secrets Manager');
        } catch {
          recordSecret(input.SecretString, 'secret string stored in Secrets Manager');
        }
      }
      const result = await next(args);
      if (command === 'CreateAccessKeyCommand') {
        const key = result.output.AccessKey as { SecretAccessKey?: unknown } | undefined;
        recordSecret(key?.SecretAccessKey, 'CreateAccessKey secret access key');
      }
      return result;
    },
    { step: 'initialize', name: 'recordCreatedSecrets' },
  );
}

/** A piece of text to search, and a description of where it is (safe to print). */
export interface LeakSource {
  where: string;
  text: string;
}

/**
 * Where any of `secrets` occurs in `sources` (as is, or JSON-escaped). Descriptions name the source and the
 * secret's origin, never its value.
 */
export function findLeaks(secrets: ReadonlyMap<string, string>, sources: readonly LeakSource[]): string[] {
  const found: string[] = [];
  let n = 0;
  for (const [value, origin] of secrets) {
    n += 1;
    const forms = [value, JSON.stringify(value).slice(1, -1)];
    for (const source of sources) {
      if (forms.some((form) => source.text.includes(form))) found.push(`${origin} (#${n}) found in ${source.where}`);
    }
  }
  return found;
}

export const slackSources = (calls: readonly RecordedCall[]): LeakSource[] =>
  calls.map((call, i) => ({ where: `Slack call #${i + 1} (${call.method})`, text: JSON.stringify(call) }));

export const outputSources = (lines: readonly string[]): LeakSource[] =>
  lines.length === 0 ? [] : [{ where: 'captured stdout/stderr (log lines)', text: lines.join('') }];

/** Where a test bot's DynamoDB tables are: its endpoint (DynamoDB Local) and the prefix of its own tables. */
export interface DynamoTarget {
  url: string;
  tablePrefix?: string;
}

/**
 * Every item of every DynamoDB table (of the bot's, when `dynamo` names a prefix), and every secret's name,
 * description and tags in the moto server at `endpoint`.
 */
export async function awsSources(endpoint: string, dynamo: DynamoTarget = { url: endpoint }): Promise<LeakSource[]> {
  const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
  const ddb = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamo.url, credentials });
  const sm = new SecretsManagerClient({ region: 'us-east-1', endpoint, credentials });
  const sources: LeakSource[] = [];
  try {
    let tablesFrom: string | undefined;
    do {
      const page = await ddb.send(new ListTablesCommand({ ExclusiveStartTableName: tablesFrom }));
      for (const table of page.TableNames ?? []) {
        if (dynamo.tablePrefix && !table.startsWith(dynamo.tablePrefix)) continue;
        let from: Record<string, unknown> | undefined;
        do {
          const scan = await ddb.send(new ScanCommand({ TableName: table, ExclusiveStartKey: from as never }));
          for (const [i, item] of (scan.Items ?? []).entries()) {
            sources.push({ where: `DynamoDB table ${table}, item ${i + 1}`, text: JSON.stringify(item) });
          }
          from = scan.LastEvaluatedKey;
        } while (from);
      }
      tablesFrom = page.LastEvaluatedTableName;
    } while (tablesFrom);
    let token: string | undefined;
    do {
      const page = await sm.send(new ListSecretsCommand({ NextToken: token, IncludePlannedDeletion: true }));
      for (const s of page.SecretList ?? []) {
        sources.push({
          where: `Secrets Manager metadata of ${s.Name}`,
          text: JSON.stringify({ name: s.Name, description: s.Description, tags: s.Tags }),
        });
      }
      token = page.NextToken;
    } while (token);
  } finally {
    ddb.destroy();
    sm.destroy();
  }
  return sources;
}

/** One bot's state to check: its Slack calls, and its moto server while it runs (a snapshot once stopped). */
export interface LeakTarget {
  /** Takes the AWS snapshot now (call before stopping moto). */
  snapshot(): Promise<void>;
  sources(): Promise<LeakSource[]>;
}

const targets: LeakTarget[] = [];

/** Registers a test bot's Slack calls and moto server for the check after the file. */
export function trackLeaks(slackCalls: readonly RecordedCall[], motoUrl: string, dynamo?: DynamoTarget): LeakTarget {
  let aws: LeakSource[] | undefined;
  const target: LeakTarget = {
    async snapshot() {
      aws = await awsSources(motoUrl, dynamo);
    },
    async sources() {
      return [...slackSources(slackCalls), ...(aws ?? (await awsSources(motoUrl, dynamo)))];
    },
  };
  targets.push(target);
  return target;
}

/** The check itself: throws, naming every place a created credential appears. */
export async function assertNoLeaks(output: readonly string[]): Promise<void> {
  if (createdSecrets.size === 0) return;
  const sources = [...outputSources(output)];
  for (const target of targets) sources.push(...(await target.sources()));
  const leaks = findLeaks(createdSecrets, sources);
  if (leaks.length > 0) {
    throw new Error(`Credential leak check failed (${leaks.length}):\n  - ${leaks.join('\n  - ')}`);
  }
}
