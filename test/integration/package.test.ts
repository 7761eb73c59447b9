/**
 * Packaging: `node scripts/build.mjs` then `osls package`, exactly as `npm run package` runs them, with no AWS
 * credentials at all, then `cfn-lint` on the CloudFormation template osls wrote, and checks that the template declares
 * what the bot needs. Slow (esbuild, osls, cfn-lint: about 10 s), hence one packaging run for the whole file.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { WORKER_TIMEOUT_MS } from '../../src/jobs/worker.js';
import { reservesName } from '../../src/kinds/registry.js';
import { createStore } from '../../src/store/index.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const STAGE = 'ci';
const REGION = 'eu-west-1';

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
  DeletionPolicy?: string;
}
interface Template {
  Resources: Record<string, Resource>;
  Outputs: Record<string, unknown>;
}
interface CfnLintMatch {
  Level: string;
  Message: string;
  Rule: { Id: string };
}

/** The environment of `npm run package` on a machine with no AWS credentials and no Slack secrets. */
function packagingEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_REGION: REGION, AWS_EC2_METADATA_DISABLED: 'true' };
  for (const name of Object.keys(env)) {
    if (/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE|DEFAULT_PROFILE|ENDPOINT_URL)$/.test(name))
      delete env[name];
    if (name.startsWith('SLACK_')) delete env[name];
  }
  // No shared config/credentials files either.
  env.AWS_SHARED_CREDENTIALS_FILE = path.join(tmpdir(), 'iam-slack-bot-no-such-credentials');
  env.AWS_CONFIG_FILE = path.join(tmpdir(), 'iam-slack-bot-no-such-config');
  return env;
}

/** Entry names of a zip file, read from its central directory. */
async function zipEntries(file: string): Promise<string[]> {
  const zip = await readFile(file);
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error(`${file} is not a zip file`);
  const count = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    names.push(zip.toString('utf8', offset + 46, offset + 46 + nameLength));
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return names;
}

let out: string;
let templateFile: string;
let template: Template;

beforeAll(async () => {
  out = await mkdtemp(path.join(tmpdir(), 'iam-slack-bot-package-'));
  const env = packagingEnv();
  await run(process.execPath, ['scripts/build.mjs'], { cwd: root, env });
  const osls = path.join(root, 'node_modules', 'osls', 'bin', 'serverless.js');
  await run(process.execPath, [osls, 'package', '--stage', STAGE, '--region', REGION, '--package', out], {
    cwd: root,
    env,
  });
  templateFile = path.join(out, 'cloudformation-template-update-stack.json');
  template = JSON.parse(await readFile(templateFile, 'utf8'));
}, 180_000);

afterAll(async () => {
  if (out) await rm(out, { recursive: true, force: true });
});

function resource(id: string): Resource {
  const found = template.Resources[id];
  if (!found) throw new Error(`the template has no resource ${id}`);
  return found;
}
const ofType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);

describe('npm run package (no AWS credentials)', () => {
  it('writes a template that cfn-lint passes, apart from W3005 in osls’s own HTTP API resources', async () => {
    let stdout: string;
    try {
      ({ stdout } = await run('cfn-lint', ['--format', 'json', templateFile]));
    } catch (error) {
      // cfn-lint exits non-zero for warnings too; its JSON report is what counts. Missing cfn-lint fails here.
      const e = error as { code?: number | string; stdout?: string };
      if (typeof e.code !== 'number' || !e.stdout) throw error;
      stdout = e.stdout;
    }
    const matches = JSON.parse(stdout) as CfnLintMatch[];
    const unexpected = matches.filter((m) => m.Rule.Id !== 'W3005').map((m) => `${m.Rule.Id} ${m.Message}`);
    expect(unexpected).toEqual([]);
  }, 60_000);

  it('declares the four functions on nodejs22.x/arm64, each running its prebuilt bundle', () => {
    const functions: Record<string, Record<string, unknown>> = Object.fromEntries(
      ofType('AWS::Lambda::Function').map(([, r]) => [r.Properties.FunctionName, r.Properties]),
    );

    expect(Object.keys(functions).sort()).toEqual(
      ['schedule', 'slack', 'web', 'worker'].map((name) => `iam-slack-bot-${STAGE}-${name}`),
    );
    for (const [fn, props] of Object.entries(functions)) {
      const name = fn.replace(`iam-slack-bot-${STAGE}-`, '');
      expect(props.Handler).toBe(`dist/${name}/index.handler`);
      expect(props.Runtime).toBe('nodejs22.x');
      expect(props.Architectures).toEqual(['arm64']);
    }
    expect(functions[`iam-slack-bot-${STAGE}-slack`]?.Timeout).toBe(10);
    // The job lease is based on it (src/jobs/worker.ts): a longer timeout would let a live run's job be taken over.
    expect(functions[`iam-slack-bot-${STAGE}-worker`]?.Timeout).toBe(WORKER_TIMEOUT_MS / 1000);
  });

  it('gives every function its configuration, and no Slack secret in the template itself', () => {
    const { Variables: vars } = resource('SlackLambdaFunction').Properties.Environment as {
      Variables: Record<string, unknown>;
    };

    expect(vars).toMatchObject({
      POLICY_FILE: 'dist/policy.json',
      TABLE_PREFIX: `iam-slack-bot-${STAGE}-`,
      SECRET_PREFIX: `iam-slack-bot/${STAGE}/`,
      WORKER_FUNCTION_NAME: `iam-slack-bot-${STAGE}-worker`,
      SLACK_SIGNING_SECRET: `{{resolve:ssm:/iam-slack-bot/${STAGE}/slack-signing-secret}}`,
      SLACK_BOT_TOKEN: `{{resolve:ssm:/iam-slack-bot/${STAGE}/slack-bot-token}}`,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation !Sub expression, not a JS template
      PUBLIC_URL: { 'Fn::Sub': 'https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}' },
    });
  });

  it('routes the HTTP API: POST /slack/events, and GET, HEAD and POST /credentials/{token}', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey);

    expect(routes.sort()).toEqual([
      'GET /credentials/{token}',
      'HEAD /credentials/{token}',
      'POST /credentials/{token}',
      'POST /slack/events',
    ]);
  });

  it('runs the worker asynchronously with two retries, the schedule every 15 minutes, the due waits every minute, the owners reconcile and the key scan daily, the access review daily', () => {
    const invokeConfig = ofType('AWS::Lambda::EventInvokeConfig').map(([, r]) => r.Properties);
    const rules = ofType('AWS::Events::Rule').map(([, r]) => r.Properties.ScheduleExpression);
    const inputs = ofType('AWS::Events::Rule').map(
      ([, r]) => (r.Properties.Targets as { Input?: string }[] | undefined)?.[0]?.Input,
    );

    expect(invokeConfig).toEqual([
      expect.objectContaining({ FunctionName: { Ref: 'WorkerLambdaFunction' }, MaximumRetryAttempts: 2 }),
    ]);
    expect(rules).toEqual(['rate(15 minutes)', 'rate(1 minute)', 'cron(0 8 * * ? *)', 'cron(0 9 * * ? *)']);
    // the daily event names its tasks: the schedule function runs only those (tasksFor)
    expect(inputs.map((i) => (i ? JSON.parse(i) : undefined))).toEqual([
      undefined,
      { tasks: ['wake-due-runs'] },
      { tasks: ['reconcile-owners', 'key-scan'] },
      { tasks: ['access-review'] },
    ]);
  });

  it('sends a job Lambda gave up on to the failed-jobs queue, which the worker consumes, with alarms on it', () => {
    const queueArn = { 'Fn::GetAtt': ['FailedJobsQueue', 'Arn'] };
    const queueName = { 'Fn::GetAtt': ['FailedJobsQueue', 'QueueName'] };
    const [invokeConfig] = ofType('AWS::Lambda::EventInvokeConfig').map(([, r]) => r.Properties);
    const mappings = ofType('AWS::Lambda::EventSourceMapping').map(([, r]) => r.Properties);
    const alarms = Object.fromEntries(
      ofType('AWS::CloudWatch::Alarm').map(([, r]) => [r.Properties.MetricName, r.Properties]),
    );

    expect(resource('FailedJobsQueue').Properties.QueueName).toBe(`iam-slack-bot-${STAGE}-failed-jobs`);
    expect(invokeConfig?.DestinationConfig).toEqual({ OnFailure: { Destination: queueArn } });
    expect(mappings).toEqual([
      expect.objectContaining({
        EventSourceArn: queueArn,
        FunctionName: { 'Fn::GetAtt': ['WorkerLambdaFunction', 'Arn'] },
      }),
    ]);
    // A failed job arrived; and failed jobs wait in the queue (the worker cannot record them): mailed via SNS.
    expect(alarms.NumberOfMessagesSent).toMatchObject({
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: queueName }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [{ Ref: 'AlarmTopic' }],
    });
    expect(alarms.ApproximateNumberOfMessagesVisible).toMatchObject({
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: queueName }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [{ Ref: 'AlarmTopic' }],
    });
    expect(resource('AlarmTopic').Type).toBe('AWS::SNS::Topic');
    // No ALARM_EMAIL when packaging: the e-mail subscription is declared but conditional.
    expect(template.Resources.AlarmEmailSubscription).toMatchObject({
      Type: 'AWS::SNS::Subscription',
      Condition: 'HasAlarmEmail',
    });
    // The worker's role lets Lambda send the failure record and read it back; no other role touches the queue.
    const sqsStatements = (id: string) =>
      (
        resource(id).Properties.Policies as {
          PolicyDocument: { Statement: { Action: string[]; Resource: unknown[] }[] };
        }[]
      )
        .flatMap((p) => p.PolicyDocument.Statement)
        .filter((st) => st.Action.some((a) => a.startsWith('sqs:')));
    expect(sqsStatements('WorkerRole')).toEqual([
      expect.objectContaining({
        Action: ['sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
        Resource: [
          {
            'Fn::Sub': `arn:\${AWS::Partition}:sqs:\${AWS::Region}:\${AWS::AccountId}:iam-slack-bot-${STAGE}-failed-jobs`,
          },
        ],
      }),
    ]);
    for (const id of ['SlackRole', 'WebRole', 'ScheduleRole']) expect(sqsStatements(id)).toEqual([]);
  });

  it('keeps every function’s logs 30 days (provider.logRetentionInDays)', () => {
    const groups = ofType('AWS::Logs::LogGroup').map(([, r]) => r.Properties);

    expect(groups).toHaveLength(4);
    for (const g of groups) expect(g.RetentionInDays).toBe(30);
  });

  it('declares the state tables: on demand, TTL on `ttl`, point-in-time recovery, retained', () => {
    const tables: Record<string, Resource> = Object.fromEntries(
      ofType('AWS::DynamoDB::Table').map(([, r]) => [r.Properties.TableName, r]),
    );

    expect(Object.keys(tables).sort()).toEqual(
      ['audit', 'jobs', 'links', 'reminders', 'requests', 'users'].map((m) => `iam-slack-bot-${STAGE}-${m}`),
    );
    for (const table of Object.values(tables)) {
      expect(table.Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      });
      expect(table.DeletionPolicy).toBe('Retain');
    }
    expect(tables[`iam-slack-bot-${STAGE}-audit`]?.Properties.KeySchema).toEqual([
      { AttributeName: 'subject', KeyType: 'HASH' },
      { AttributeName: 'at', KeyType: 'RANGE' },
    ]);
  });

  it('declares each table with the keys and indexes its dynamoose model queries', async () => {
    // What dynamoose would send to create the tables itself (as it does locally and in tests): the deployed tables
    // must match, or a query on an index works in tests and fails on AWS.
    const store = createStore({ region: REGION, prefix: `iam-slack-bot-${STAGE}-`, create: false }, { reservesName });
    const keysOf = (t: Record<string, unknown>) => ({
      TableName: t.TableName,
      AttributeDefinitions: t.AttributeDefinitions,
      KeySchema: t.KeySchema,
      GlobalSecondaryIndexes: t.GlobalSecondaryIndexes,
    });
    const byName = (a: { TableName?: unknown }, b: { TableName?: unknown }) =>
      String(a.TableName).localeCompare(String(b.TableName));
    const expected = await Promise.all(
      Object.values(store).map(async (repo) =>
        keysOf((await repo.model.table().create({ return: 'request' })) as Record<string, unknown>),
      ),
    );
    const names = new Set(expected.map((t) => t.TableName));
    const declared = ofType('AWS::DynamoDB::Table')
      .map(([, r]) => keysOf(r.Properties))
      .filter((t) => names.has(t.TableName));

    expect(declared.sort(byName)).toEqual(expected.sort(byName));
  });

  it('gives each function its own role, derived from policy.yml, and no provider-wide role', () => {
    const roleOf = (fn: string) =>
      (resource(`${fn[0]?.toUpperCase()}${fn.slice(1)}LambdaFunction`).Properties.Role as { 'Fn::GetAtt': string[] })[
        'Fn::GetAtt'
      ]?.[0];

    expect(template.Resources.IamRoleLambdaExecution).toBeUndefined();
    expect(['slack', 'web', 'worker', 'schedule'].map(roleOf)).toEqual([
      'SlackRole',
      'WebRole',
      'WorkerRole',
      'ScheduleRole',
    ]);
    expect(resource('WorkerRole').Properties.RoleName).toBe(`iam-slack-bot-${STAGE}-worker`);
  });

  it('grants the credential page no IAM action, and nobody a `*` action or another stage’s resources', () => {
    const statements = (id: string) =>
      (
        resource(id).Properties.Policies as {
          PolicyDocument: { Statement: { Action: string[]; Resource: unknown[] }[] };
        }[]
      ).flatMap((p) => p.PolicyDocument.Statement);
    const actions = (id: string) => statements(id).flatMap((s) => s.Action);

    expect(actions('WebRole').filter((a) => a.startsWith('iam:') || a.startsWith('sts:'))).toEqual([]);
    expect(actions('SlackRole').filter((a) => a.startsWith('secretsmanager:'))).toEqual([]);
    for (const id of ['SlackRole', 'WebRole', 'WorkerRole', 'ScheduleRole']) {
      expect(actions(id).filter((a) => a.includes('*'))).toEqual([]);
      const resources = JSON.stringify(statements(id).map((s) => s.Resource));
      expect(resources).not.toContain('${'.concat('sls:')); // every osls variable resolved
      expect(resources).not.toMatch(/group\/\*"/); // never every group
    }
    const invoke = statements('SlackRole').filter((s) => s.Action.includes('lambda:InvokeFunction'));
    expect(invoke).toEqual([
      expect.objectContaining({
        Resource: [
          {
            'Fn::Sub': `arn:\${AWS::Partition}:lambda:\${AWS::Region}:\${AWS::AccountId}:function:iam-slack-bot-${STAGE}-worker`,
          },
        ],
      }),
    ]);
  });

  it('zips each function as its bundle plus the policy as JSON, nothing else', async () => {
    for (const name of ['slack', 'web', 'worker', 'schedule']) {
      expect((await zipEntries(path.join(out, `${name}.zip`))).sort()).toEqual([
        'dist/policy.json',
        `dist/${name}/index.cjs`,
      ]);
    }
  });

  it('keeps DynamoDB, STS, Secrets Manager and Lambda out of the Slack function cold start (loaded on first use)', async () => {
    // esbuild's metafile of the bundle npm run package just built: follow only static imports and require() calls
    // from the entry point. What is reachable that way runs at module initialisation; the rest only when a dynamic
    // import() runs. One static import of src/store/* from a listener or service would undo the lazy store.
    const meta = JSON.parse(await readFile(path.join(root, 'dist', 'slack', 'meta.json'), 'utf8')) as {
      inputs: Record<string, { imports: { path: string; kind: string }[] }>;
    };
    const reached = new Set<string>();
    const visit = (file: string) => {
      if (reached.has(file)) return;
      reached.add(file);
      for (const i of meta.inputs[file]?.imports ?? []) if (i.kind !== 'dynamic-import') visit(i.path);
    };
    visit('src/handlers/slack.ts');
    const loadedAtInit = (pattern: RegExp) => [...reached].filter((f) => pattern.test(f));

    expect(loadedAtInit(/node_modules\/@slack\/bolt\//).length).toBeGreaterThan(0); // the walk itself works
    expect(loadedAtInit(/node_modules\/@aws-sdk\/client-iam\//).length).toBeGreaterThan(0);
    expect(loadedAtInit(/^src\/store\/(?!lazy\.ts$)/)).toEqual([]);
    expect(loadedAtInit(/node_modules\/(dynamoose|@aws-sdk\/client-(dynamodb|sts|secrets-manager|lambda))\//)).toEqual(
      [],
    );
  });

  it('bundles no Secrets Manager client into the Slack function, and no kind module or message rendering into the credential page', async () => {
    // Prepare
    const inputsOf = async (name: string) =>
      Object.keys(
        (JSON.parse(await readFile(path.join(root, 'dist', name, 'meta.json'), 'utf8')) as { inputs: object }).inputs,
      );

    // Act
    const slack = await inputsOf('slack');
    const web = await inputsOf('web');
    const worker = await inputsOf('worker');

    // Assess
    // the Slack role grants no Secrets Manager action: the client is stubbed there (scripts/build.mjs functionStubs)
    expect(slack.filter((f) => f.includes('@aws-sdk/client-secrets-manager/'))).toEqual([]);
    expect(slack).toContain('scripts/lambda-stubs/no-secrets-manager.mjs');
    expect(worker.filter((f) => f.includes('@aws-sdk/client-secrets-manager/')).length).toBeGreaterThan(0);
    expect(web.filter((f) => f.includes('@aws-sdk/client-secrets-manager/')).length).toBeGreaterThan(0);
    // the store's name reservation and the kinds' item fields come from data (src/kinds/facts.ts and each kind's
    // item.ts, the attributes it adds to the request item's schema), and the policy's group fields a kind reads from
    // its policy.ts (zod schemas, which the config loads), not the kinds registry and its rendering
    expect(web).toContain('src/kinds/facts.ts');
    expect(
      web.filter((f) =>
        /^src\/kinds\/(?!facts\.ts$|policy\.ts$|[\w-]+\/(item|policy)\.ts$)|^src\/blocks\/(request|change-request)\.ts$/.test(
          f,
        ),
      ),
    ).toEqual([]);
    // the policy.ts files hold schemas only: no import but zod, the duration schema and each other
    for (const f of web.filter((f) => /^src\/kinds\/([\w-]+\/)?policy\.ts$/.test(f)))
      expect(
        (readFileSync(f, 'utf8').match(/^import (?!type ).*$/gm) ?? []).filter(
          (line) => !/from '(zod\/mini|zod|(\.\.\/)+duration\.js|\.\/[\w-]+\/policy\.js)';$/.test(line),
        ),
      ).toEqual([]);
    // and those item.ts files hold data only: no import but types and the store's
    for (const f of web.filter((f) => /^src\/kinds\/[\w-]+\/item\.ts$/.test(f)))
      expect(readFileSync(f, 'utf8').match(/^import (?!type ).*$/gm) ?? []).toEqual([]);
  });

  it('bundles nothing of npm run dev (src/local: moto, the Slack stand-in and its page) into any function', async () => {
    for (const name of ['slack', 'web', 'worker', 'schedule']) {
      const meta = JSON.parse(await readFile(path.join(root, 'dist', name, 'meta.json'), 'utf8')) as {
        inputs: Record<string, unknown>;
      };
      const inputs = Object.keys(meta.inputs);

      expect(inputs).toContain(`src/handlers/${name}.ts`);
      expect(inputs.filter((f) => f.startsWith('src/local/') || f.includes('stand-in'))).toEqual([]);
    }
  });

  it('ships policy.yml as JSON that loads to the same policy', async () => {
    const env = { SLACK_SIGNING_SECRET: 'package-test-secret', SLACK_BOT_TOKEN: 'xoxb-package-test' };
    const fromYaml = loadConfig({ ...env, POLICY_FILE: path.join(root, 'policy.yml') }).policy;
    const fromJson = loadConfig({ ...env, POLICY_FILE: path.join(root, 'dist', 'policy.json') }).policy;

    expect(fromJson).toEqual(fromYaml);
  });

  it('refuses to build with a wrong policy, naming every problem', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'iam-slack-bot-policy-'));
    const bad = path.join(dir, 'policy.yml');
    await writeFile(bad, 'approvals: { channel: general }\ngroups: [{ name: "ci/x" }]\nsurprise: 1\n');
    const failed = await run(process.execPath, ['scripts/build.mjs'], {
      cwd: root,
      env: { ...packagingEnv(), POLICY_FILE: bad },
    }).then(
      () => undefined,
      (error: { code?: number; stderr?: string }) => error,
    );
    await rm(dir, { recursive: true, force: true });

    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain('approvals.channel: must be a Slack channel id');
    expect(failed?.stderr).toContain('approvals.approvers');
    expect(failed?.stderr).toContain('groups.0.name: must be a valid IAM group name');
    expect(failed?.stderr).toContain('Unrecognized key: "surprise"');
  }, 60_000);
});
