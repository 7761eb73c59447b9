/**
 * Crash at every step: runs a scenario once uninterrupted, recording every call of the worker that changes
 * something (AWS writes, Slack posts and updates, hand-offs to the worker), then runs it again from a fresh state
 * with the worker killed just before, or just after, one of those calls, and compares the end states.
 *
 * "Killed" is what Lambda's timeout does: the invocation never answers. Its pending promise never settles, and every
 * later call it makes (AWS, Slack, a hand-off) hangs too. Which invocation a call belongs to is known from an
 * AsyncLocalStorage context the harness's job runner sets around each run of a job. Only worker jobs are killed,
 * never the Slack function's ack path nor the scheduled function.
 *
 * What follows a kill is modelled as it happens on Lambda: the invocation ends at the worker's timeout and Lambda
 * retries it about a minute later (the second retry two minutes after the first), by then past the job's lease
 * (LEASE_MS), with at most two retries; a job that throws is retried the same way. Then the scheduled 15-minute
 * sweeps run (the test clock advanced between them), and if the request says failed an approver presses Retry once,
 * as a real one would: the harness reports each kill point that needed that human step.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
} from '@aws-sdk/client-dynamodb';
import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { REQUEST_RETRY } from '../../src/blocks/ids.js';
import type { Job } from '../../src/jobs/types.js';
import { runJob, WORKER_TIMEOUT_MS } from '../../src/jobs/worker.js';
import type { Messenger } from '../../src/services/ports.js';
import { ensurePolicyGroups } from '../../src/services/setup.js';
import type { AccessRequest } from '../../src/store/requests.js';
import type { TestBot } from './bot.js';
import { click, iamUser } from './create-user.js';
import { requestPage } from './credentials.js';

// ---------------------------------------------------------------------------------------------------------------
// Kill points

/** When, relative to the call, the invocation dies. */
export type KillWhen = 'before' | 'after';

/** One call of the uninterrupted run that changes something, made by a worker invocation. */
export interface KillPoint {
  /** The invocation: job type, its order among the run's jobs of that type, the attempt (`provision#1/1`). */
  invocation: string;
  /** The call's order among that invocation's changing calls (0 first). */
  index: number;
  /** What the call is: `iam:CreateAccessKey build-bot`, `dynamodb:UpdateItem requests`, `slack:post U0RECIPIENT`. */
  label: string;
}

export const pointName = (p: KillPoint, when?: KillWhen) =>
  `${when ? `${when} ` : ''}${p.invocation}.${p.index} ${p.label}`;

const NEVER = new Promise<never>(() => {});

/** What Lambda would see of one invocation: it either answers, or is killed and never does. */
class Invocation {
  changes = 0;
  dead = false;
  readonly killed: Promise<'killed'>;
  #kill!: () => void;
  constructor(
    readonly name: string,
    private readonly harness: KillSwitch,
  ) {
    this.killed = new Promise((resolve) => {
      this.#kill = () => resolve('killed');
    });
  }

  kill(): Promise<never> {
    this.dead = true;
    this.#kill();
    return NEVER;
  }

  /** Runs one changing call of this invocation, unless the harness kills the invocation before or after it. */
  async change<T>(label: string, call: () => Promise<T>): Promise<T> {
    if (this.dead) return NEVER;
    const point: KillPoint = { invocation: this.name, index: this.changes++, label };
    const when = this.harness.reached(point);
    if (when === 'before') return this.kill();
    let result: T;
    try {
      result = await call();
    } catch (error) {
      if (when === 'after' || this.dead) return this.kill();
      throw error;
    }
    if (when === 'after' || this.dead) return this.kill();
    return result;
  }

  /** Runs a call that changes nothing; it hangs too once the invocation is dead. */
  async read<T>(call: () => Promise<T>): Promise<T> {
    if (this.dead) return NEVER;
    const result = await call();
    if (this.dead) return NEVER;
    return result;
  }
}

const CHANGING: Record<string, RegExp> = {
  iam: /^(Create|Add|Remove|Tag|Untag|Update|Delete|Put|Attach|Detach|Change|Enable|Deactivate|Reset|Set|Upload)/,
  secretsmanager: /^(CreateSecret|PutSecretValue|DeleteSecret|TagResource|UntagResource|UpdateSecret|RestoreSecret)$/,
  dynamodb: /^(PutItem|UpdateItem|DeleteItem|TransactWriteItems|BatchWriteItem)$/,
};

type Handler = (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>;
interface MiddlewareClient {
  middlewareStack: {
    add(
      middleware: (next: Handler, context: { clientName?: string; commandName?: string }) => Handler,
      options: { step: 'initialize'; name: string },
    ): void;
  };
}

/** A table's name without the test bot's prefix (`test-<bot>-`, test/support/bot.ts). */
const tableOf = (name: unknown) => String(name ?? '').replace(/^test-(?:[a-z0-9]+-)?/, '');

function awsLabel(service: string, action: string, input: Record<string, unknown>): string {
  if (service === 'dynamodb') {
    if (action === 'TransactWriteItems') {
      const items = (input.TransactItems as Record<string, { TableName?: string }>[] | undefined) ?? [];
      return `dynamodb:${action} ${items.map((i) => tableOf(Object.values(i)[0]?.TableName)).join('+')}`;
    }
    return `dynamodb:${action} ${tableOf(input.TableName)}`;
  }
  if (service === 'iam') return `iam:${action} ${String(input.GroupName ?? input.UserName ?? '')}`.trim();
  return `${service}:${action}`;
}

/** The messenger's methods that call Slack (the others, e.g. a cache reset, are left alone). */
const SLACK_CALLS = new Set<keyof Messenger>([
  'post',
  'update',
  'respond',
  'publishHome',
  'uploadFile',
  'usergroupMembers',
  'memberStatus',
  'memberStanding',
]);

/** A recipient as the label shows it: users and channels by id, a response_url as such. */
const slackLabel = (method: string, target: string) => `slack:${method} ${target}`;

export interface RecoveryStats {
  /** Invocations killed (0 or 1 per run). */
  killed: number;
  /** Lambda's retries of killed or failed invocations. */
  retries: number;
  /** Jobs that failed every attempt (Lambda's on-failure destination gets them). */
  exhausted: string[];
}

/**
 * The harness's hold on a test bot: an SDK middleware on every AWS client (pass `awsMiddleware` as
 * TestBotOptions.decorateClient), a wrapper around the messenger and the dispatcher, and the job runner that
 * models Lambda's retries. Arm it with a kill point, or record the points of an uninterrupted run.
 */
export class KillSwitch {
  readonly #invocations = new AsyncLocalStorage<Invocation>();
  #target: { point: KillPoint; when: KillWhen } | undefined;
  #recording: KillPoint[] | undefined;
  #armed = false;
  #seen = new Map<string, number>();
  #fired: KillPoint | undefined;
  stats: RecoveryStats = { killed: 0, retries: 0, exhausted: [] };
  /** Every access key IAM handed out (id -> secret) and the last password sent for each user: to check a reveal. */
  readonly minted = new Map<string, string>();
  readonly passwords = new Map<string, string>();
  bot: TestBot | undefined;

  /** TestBotOptions.decorateClient: the interception point of every AWS call. */
  readonly awsMiddleware = (client: unknown): void => {
    (client as MiddlewareClient).middlewareStack.add(
      (next, context) => async (args) => {
        const service = (context.clientName ?? 'unknown').replace(/Client$/, '').toLowerCase();
        const action = (context.commandName ?? 'unknown').replace(/Command$/, '');
        const input = args.input;
        if (action === 'CreateLoginProfile' || action === 'UpdateLoginProfile')
          this.passwords.set(String(input.UserName), String(input.Password));
        const send = async () => {
          const result = await next(args);
          const key = action === 'CreateAccessKey' ? (result.output.AccessKey as Record<string, string>) : undefined;
          if (key?.AccessKeyId) this.minted.set(key.AccessKeyId, key.SecretAccessKey ?? '');
          return result;
        };
        const invocation = this.#invocations.getStore();
        if (!invocation) return send();
        if (!CHANGING[service]?.test(action)) return invocation.read(send);
        return invocation.change(awsLabel(service, action, input), send);
      },
      { step: 'initialize', name: 'killPoints' },
    );
  };

  /** Takes hold of the bot's messenger, dispatcher and job runner. Call once, right after startTestBot. */
  attach(bot: TestBot): this {
    this.bot = bot;
    const messenger = bot.deps.messenger;
    const held = this.#invocations;
    const changing: Partial<Record<keyof Messenger, (args: unknown[]) => string>> = {
      post: ([channel]) => slackLabel('chat.postMessage', String(channel)),
      update: ([channel]) => slackLabel('chat.update', String(channel)),
      respond: () => slackLabel('response_url', ''),
      publishHome: ([user]) => slackLabel('views.publish', String(user)),
      uploadFile: ([channel]) => slackLabel('files.upload', String(channel)),
    };
    bot.deps.messenger = new Proxy(messenger, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function' || !SLACK_CALLS.has(property as keyof Messenger)) return value;
        return (...args: unknown[]) => {
          const call = () => value.apply(target, args) as Promise<unknown>;
          const invocation = held.getStore();
          if (!invocation) return call();
          const label = changing[property as keyof Messenger];
          return label ? invocation.change(label(args).trim(), call) : invocation.read(call);
        };
      },
    });
    const dispatch = bot.dispatcher.dispatch.bind(bot.dispatcher);
    bot.dispatcher.dispatch = (job: Job) => {
      const invocation = held.getStore();
      if (!invocation) return dispatch(job);
      return invocation.change(`lambda:Invoke ${job.type}`, () => dispatch(job));
    };
    bot.dispatcher.setRunner((job) => this.#run(job));
    return this;
  }

  /** Called for every changing call of a worker invocation: records it, and says whether to kill around it. */
  reached(point: KillPoint): KillWhen | undefined {
    if (!this.#armed) return undefined;
    this.#recording?.push(point);
    const target = this.#target;
    if (!target || this.#fired) return undefined;
    if (target.point.invocation !== point.invocation || target.point.index !== point.index) return undefined;
    if (target.point.label !== point.label)
      throw new Error(`Kill point ${pointName(target.point)} reached a different call: ${point.label}`);
    this.#fired = point;
    return target.when;
  }

  /** Forgets the previous run: counters, target, statistics. */
  reset(): void {
    this.#target = undefined;
    this.#recording = undefined;
    this.#armed = false;
    this.#seen.clear();
    this.#fired = undefined;
    this.stats = { killed: 0, retries: 0, exhausted: [] };
  }

  /** Records (and returns, filled as the run goes) the changing calls of worker invocations while armed. */
  record(): KillPoint[] {
    this.#recording = [];
    return this.#recording;
  }

  target(point: KillPoint, when: KillWhen): void {
    this.#target = { point, when };
  }

  /** Whether the armed kill point was reached. */
  get fired(): boolean {
    return this.#fired !== undefined;
  }

  /** Kill points count (and can fire) only between arm() and disarm(): the request's run, not the later sweeps. */
  arm(): void {
    this.#armed = true;
  }
  disarm(): void {
    this.#armed = false;
  }

  /**
   * One invocation of another function than the worker (the scheduled one): its changing calls are kill points like
   * the worker's, named `<name>#<n>/1`; a killed one never answers and is not retried (the schedule's next run, 15
   * minutes later, is its retry). Says how it ended.
   */
  async invoke(name: string, call: () => Promise<unknown>): Promise<'ok' | 'failed' | 'killed'> {
    const seq = (this.#seen.get(name) ?? 0) + 1;
    this.#seen.set(name, seq);
    const invocation = new Invocation(`${name}#${seq}/1`, this);
    const outcome = await Promise.race([
      this.#invocations.run(invocation, call).then(
        () => 'ok' as const,
        () => 'failed' as const,
      ),
      invocation.killed,
    ]);
    if (outcome === 'killed') this.stats.killed++;
    return outcome;
  }

  /**
   * Lambda's handling of one asynchronous invocation: the first attempt and up to two retries, each after the
   * previous attempt ended (a killed one at the worker's timeout) and about a minute (then two) more.
   */
  async #run(job: Job): Promise<void> {
    const bot = this.bot;
    if (!bot) throw new Error('KillSwitch is not attached to a bot');
    // The projection refresh's parts (dispatched by every frequent schedule since issue 20's fan-out) are no kill
    // points: the refresh is a cache of IAM rebuilt whole by its next run, and whether it writes a user depends on
    // its race with the run parts the same sweep hands off, so its kill points would come and go from run to run.
    // Its killed parts are tested in projection-fanout.test.ts.
    if (job.type === 'refresh-projection') {
      await runJob(bot.deps, job).catch(() => {});
      return;
    }
    const seq = (this.#seen.get(job.type) ?? 0) + 1;
    this.#seen.set(job.type, seq);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const invocation = new Invocation(`${job.type}#${seq}/${attempt}`, this);
      const outcome = await Promise.race([
        this.#invocations
          .run(invocation, () => runJob(bot.deps, job))
          .then(
            () => 'ok' as const,
            () => 'failed' as const,
          ),
        invocation.killed,
      ]);
      if (outcome === 'ok') return;
      if (outcome === 'killed') this.stats.killed++;
      if (attempt === 3) break;
      this.stats.retries++;
      bot.clock.advance((outcome === 'killed' ? WORKER_TIMEOUT_MS : 0) + attempt * 60_000);
    }
    this.stats.exhausted.push(`${job.type}#${seq}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// A fresh state for each run, on the same bot

interface TableDefinitions {
  client: DynamoDBClient;
  tables: CreateTableCommandInput[];
}
const definitions = new WeakMap<TestBot, TableDefinitions>();

/**
 * The CreateTable request of every table of the store, from DescribeTable, once each model has been used (the
 * store creates its tables lazily, on a model's first use).
 */
async function tableDefinitions(bot: TestBot): Promise<TableDefinitions> {
  const known = definitions.get(bot);
  if (known) return known;
  const store = bot.deps.store;
  const models = [store.jobs, store.audit, store.requests, store.links, store.users, store.reminders].map(
    (r) => r.model as unknown as { scan(): { limit(n: number): { exec(): Promise<unknown> } } },
  );
  for (const model of models) await model.scan().limit(1).exec();
  // Not the bot's own client: setting up the emulator is not a call of the bot's, and is checked against no role.
  const client = new DynamoDBClient({ region: 'us-east-1', endpoint: bot.dynamo.url });
  const prefix = bot.deps.config.env.TABLE_PREFIX;
  const names = ((await client.send(new ListTablesCommand({}))).TableNames ?? []).filter((n) => n.startsWith(prefix));
  if (names.length < models.length) throw new Error(`Found tables ${names.join(', ')}, expected ${models.length}`);
  const tables: CreateTableCommandInput[] = [];
  for (const name of names) {
    const t = (await client.send(new DescribeTableCommand({ TableName: name }))).Table;
    tables.push({
      TableName: name,
      KeySchema: t?.KeySchema,
      AttributeDefinitions: t?.AttributeDefinitions,
      BillingMode: 'PAY_PER_REQUEST',
      ...(t?.GlobalSecondaryIndexes?.length
        ? {
            GlobalSecondaryIndexes: t.GlobalSecondaryIndexes.map((g) => ({
              IndexName: g.IndexName,
              KeySchema: g.KeySchema,
              Projection: g.Projection,
            })),
          }
        : {}),
    });
  }
  const found = { client, tables };
  definitions.set(bot, found);
  return found;
}

/**
 * Wipes the emulator (`POST /moto-api/reset`: IAM, Secrets Manager) and the bot's tables in DynamoDB Local (dropped
 * and created again), and recreates the bot's tables and
 * the policy's groups, so that a run starts from what a new bot would have; the clock goes back to `start`.
 */
export async function freshState(bot: TestBot, start: Date): Promise<void> {
  await bot.drain();
  const { client, tables } = await tableDefinitions(bot);
  const reset = await fetch(`${bot.moto.url}/moto-api/reset`, { method: 'POST' });
  if (!reset.ok) throw new Error(`moto reset answered ${reset.status}`);
  await Promise.all(
    tables.map((t) =>
      client.send(new DeleteTableCommand({ TableName: t.TableName })).catch((error: Error) => {
        if (error.name !== 'ResourceNotFoundException') throw error;
      }),
    ),
  );
  await Promise.all(
    tables.map((t) =>
      client.send(new CreateTableCommand(t)).catch((error: Error) => {
        if (error.name !== 'ResourceInUseException') throw error;
      }),
    ),
  );
  bot.renewAwsClients(); // the reset forgot the sessions of the roles the bot assumed in named accounts
  await ensurePolicyGroups(bot.deps.aws.account().iam, bot.deps.config.policy.groups);
  bot.clock.set(start);
}

// ---------------------------------------------------------------------------------------------------------------
// Scenarios

/** What a scenario's setup hands to the rest of the run. */
export interface ScenarioContext {
  /** The IAM users whose end state counts (in the home account). */
  userNames: string[];
  /** Who must end with exactly one live one-time link, if the kind delivers credentials. */
  credentialsTo?: string;
  /** The approver who presses Retry when the request says failed. */
  approver: string;
  /** Access keys the users held before the request (a rotation's old key): the live link must reveal another. */
  keysBefore?: string[];
}

/**
 * One kind of request as the crash test runs it: a scenario is setup + act (+ settle + snapshot, shared by default).
 * `act` drives the request from the command to the end of the worker's run and returns the request id.
 */
export interface CrashScenario {
  kind: string;
  setup(bot: TestBot): Promise<ScenarioContext>;
  act(bot: TestBot, context: ScenarioContext): Promise<string>;
  /** Default: settleRequest. A kind with a life of its own (a rotation's grace period) advances the clock here. */
  settle?(bot: TestBot, context: ScenarioContext, requestId: string): Promise<Settled>;
  /** Default: snapshotRequest. `from`: the index of the run's first Slack call on the fake Slack. */
  snapshot?(
    bot: TestBot,
    context: ScenarioContext,
    requestId: string,
    from: number,
    kills: KillSwitch,
  ): Promise<EndState>;
}

export interface Settled {
  /** The approver pressed Retry (the request said failed after the sweeps). */
  humanRetry: boolean;
  /** Sweep runs. */
  sweeps: number;
}

const SWEEP_MS = 16 * 60_000;

/** The scheduled sweeps, each after the clock moved past the 15-minute schedule; then the jobs they started. */
async function sweeps(bot: TestBot, times: number[]): Promise<void> {
  for (const ms of times) {
    bot.clock.advance(ms);
    await bot.schedule();
    await bot.drain();
  }
}

/**
 * The default settle: the sweeps run (a stalled request fails after 15 minutes; an orphaned secret goes after an
 * hour), and if the request says failed an approver presses Retry once, and the sweeps run again. The uninterrupted
 * run settles the same way, so that what the sweeps do counts on both sides.
 */
export async function settleRequest(bot: TestBot, context: ScenarioContext, requestId: string): Promise<Settled> {
  await bot.drain();
  // The first sweep finds a request stalled for 15 minutes; the second, an hour later, deletes orphaned secrets.
  const times = [SWEEP_MS, 4 * SWEEP_MS];
  await sweeps(bot, times);
  const request = await bot.deps.store.requests.get(requestId);
  if (request?.status !== 'failed') return { humanRetry: false, sweeps: times.length };
  await click(bot, request, context.approver, REQUEST_RETRY);
  await bot.drain();
  await sweeps(bot, times);
  return { humanRetry: true, sweeps: 2 * times.length };
}

// ---------------------------------------------------------------------------------------------------------------
// End states

export interface EndState {
  iam: Record<string, unknown>;
  request: Record<string, unknown>;
  /** Distinct audit actions of the request (a resumed step counts as done), recovery actions apart. */
  audit: string[];
  /** Audit actions that only recovery writes (stalled, failed, retried), as a multiset. */
  recovery: string[];
  /** Every Slack message posted (chat.postMessage, chat.postEphemeral), as `recipient kind`, sorted. */
  messages: string[];
  /** The approval message's last render, normalized. */
  approvalMessage: string;
  /** App Homes published and response_url posts, as sets. */
  homes: string[];
  responses: string[];
  /** Credential delivery: live links, secrets left, and whether the live link reveals what IAM holds. */
  credentials?: {
    liveLinks: number;
    secrets: number;
    revealed: string;
  };
}

const RECOVERY_ACTIONS = new Set(['provisioning-stalled', 'provisioning-failed', 'retried', 'step-failed']);

/**
 * Audit actions that say how a run was cut into parts, not where it ended. A killed invocation's retry comes once the
 * test clock moved on by the worker's timeout and Lambda's delay, and an invocation running meanwhile (another job of
 * the same request) sees that time pass as its own: its part budget, counted from its start on the injected clock
 * (issue 20), runs out and it hands its rest to a continuation, as a slow invocation does on Lambda. The end state is
 * the same; only the number of parts differs.
 */
const PARTING_ACTIONS = new Set(['run-continued']);

/** Ids, tokens, timestamps and digits out of a message, so that two runs' messages compare by kind. */
export function normalizeText(text: string): string {
  return text
    .replace(/https?:\/\/[^\s"|>]+\/credentials\/[A-Za-z0-9_-]+/g, '<link>')
    .replace(/req-[A-Za-z0-9]{12}/g, '<req>')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')
    .replace(/\b(AKIA|ASIA|LKIA)[A-Z0-9]{12,}\b/g, '<key>')
    .replace(/<!date\^[^>]*>/g, '<date>')
    .replace(/\d/g, '#');
}

const messageText = (args: Record<string, unknown>) => JSON.stringify([args.text ?? '', args.blocks ?? []]);

/** The kind of a posted message: a one-time link, else its normalized text (first 80 characters). */
export function messageKind(args: Record<string, unknown>): string {
  const text = messageText(args);
  if (/\/credentials\/[A-Za-z0-9_-]+/.test(text)) return 'one-time link';
  return normalizeText(String(args.text ?? text)).slice(0, 80);
}

const LINK_TOKEN = /https?:\/\/[^\s"|>]+\/credentials\/([A-Za-z0-9_-]+)/;

/** The default snapshot of a request's end state: IAM, the request, its audit, Slack, the credentials. */
export async function snapshotRequest(
  bot: TestBot,
  context: ScenarioContext,
  requestId: string,
  from: number,
  minted: Map<string, string>,
  passwords: Map<string, string>,
): Promise<EndState> {
  const iam: Record<string, unknown> = {};
  const keyIds: string[] = [];
  for (const name of context.userNames) {
    const user = await iamUser(bot, name);
    if (!user) {
      iam[name] = 'absent';
      continue;
    }
    keyIds.push(...user.keys.map(String).filter((k) => !context.keysBefore?.includes(k)));
    iam[name] = {
      path: user.path,
      groups: user.groups,
      tags: Object.fromEntries(Object.entries(user.tags).map(([k, v]) => [k, normalizeText(String(v))])),
      keys: user.keys.length,
      loginProfile: user.loginProfile,
    };
  }
  const request = (await bot.deps.store.requests.get(requestId)) as AccessRequest;
  const entries = await bot.deps.store.audit.list(`request#${requestId}`);
  const audit = new Set<string>();
  const recovery: string[] = [];
  for (const e of entries) {
    if (PARTING_ACTIONS.has(e.action)) continue;
    if (RECOVERY_ACTIONS.has(e.action)) {
      recovery.push(e.action);
      continue;
    }
    const step = (e.detail as { step?: unknown } | undefined)?.step;
    const action = e.action === 'step-skipped' ? 'step-done' : e.action;
    audit.add(step ? `${action} ${String(step)}` : action);
  }

  // What Slack accepted: a call it refused for its rate limit (HTTP 429, which the Web API client waits out and sends
  // again) reached nobody, and counting it would double a message, or a link, whenever the sweep runs fast enough
  // to be rate-limited (real clock), in either run.
  const calls = bot.slack.calls.slice(from).filter((c) => c.answer?.error !== 'ratelimited');
  const messages = calls
    .filter((c) => c.method === 'chat.postMessage' || c.method === 'chat.postEphemeral')
    .map((c) => `${String(c.args.channel)} ${messageKind(c.args)}`)
    .sort();
  const approval = calls
    .filter(
      (c) =>
        (c.method === 'chat.postMessage' || c.method === 'chat.update') &&
        c.args.channel === bot.deps.config.policy.approvals.channel &&
        messageText(c.args).includes(requestId),
    )
    .at(-1);
  const homes = [...new Set(calls.filter((c) => c.method === 'views.publish').map((c) => String(c.args.user_id)))];
  const responses = [
    ...new Set(calls.filter((c) => c.method === 'response_url').map((c) => normalizeText(String(c.args.text ?? '')))),
  ];

  const state: EndState = {
    iam,
    request: {
      status: request?.status,
      created: request?.created,
      linkId: Boolean(request?.linkId),
      remaining: request?.remaining ?? [],
      error: request?.error ?? null,
    },
    audit: [...audit].sort(),
    recovery: recovery.sort(),
    messages,
    approvalMessage: approval ? normalizeText(messageText(approval.args)) : 'none',
    homes: homes.sort(),
    responses: responses.sort(),
  };

  if (context.credentialsTo) {
    const recipient = context.credentialsTo;
    const tokens = calls
      .filter((c) => c.method === 'chat.postMessage' && c.args.channel === recipient)
      .map((c) => LINK_TOKEN.exec(messageText(c.args))?.[1])
      .filter((t): t is string => Boolean(t));
    const live: string[] = [];
    for (const token of tokens) {
      const link = await bot.deps.store.links.get(createHash('sha256').update(token).digest('hex'));
      if (link && (link.status === 'pending' || link.status === 'opened')) live.push(token);
    }
    const secrets = new SecretsManagerClient({ region: 'us-east-1', endpoint: bot.moto.url });
    const listed = await secrets.send(new ListSecretsCommand({}));
    secrets.destroy();
    state.credentials = {
      liveLinks: live.length,
      secrets: (listed.SecretList ?? []).length,
      revealed: live.length === 1 ? await reveal(bot, String(live[0]), keyIds, minted, passwords) : 'no single link',
    };
  }
  return state;
}

/** Opens the one live link and says whether it reveals the very key and password IAM holds for the user. */
async function reveal(
  bot: TestBot,
  token: string,
  keyIds: string[],
  minted: Map<string, string>,
  passwords: Map<string, string>,
): Promise<string> {
  const page = await requestPage(bot, 'POST', token);
  const body = page.body ?? '';
  const field = (id: string) => new RegExp(`data-testid="${id}">([^<]*)<`).exec(body)?.[1];
  const keyId = field('access-key-id');
  const problems: string[] = [];
  if (page.statusCode !== 200) problems.push(`page ${page.statusCode}`);
  if (keyId !== undefined) {
    if (keyIds.length !== 1 || keyId !== keyIds[0]) problems.push('revealed key is not the one IAM holds');
    else if (minted.get(keyId) !== field('secret-access-key')) problems.push('revealed secret is not the key’s');
  }
  const password = field('password');
  if (password !== undefined) {
    const sent = passwords.get(unescapeHtml(field('console-user-name') ?? ''));
    if (sent !== unescapeHtml(password)) problems.push('revealed password is not the last one set');
  }
  return problems.length ? problems.join('; ') : `works (${[keyId && 'key', password && 'password'].filter(Boolean)})`;
}

const unescapeHtml = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#x27;/g, "'")
    .replace(/&amp;/g, '&');

// ---------------------------------------------------------------------------------------------------------------
// Runs and comparisons

export interface RunResult {
  state: EndState;
  settled: Settled;
  stats: RecoveryStats;
  fired: boolean;
  points: KillPoint[];
  requestId: string;
}

/** Runs a scenario from a fresh state, killed at `kill` if given (recording its kill points otherwise). */
export async function runScenario(
  bot: TestBot,
  kills: KillSwitch,
  scenario: CrashScenario,
  start: Date,
  kill?: { point: KillPoint; when: KillWhen },
): Promise<RunResult> {
  const t0 = Date.now();
  const debug = (what: string) => process.env.CRASH_DEBUG && console.info(`DEBUG ${what} ${Date.now() - t0}`);
  debug('fresh state');
  await freshState(bot, start);
  debug('reset');
  kills.reset();
  const points = kill ? [] : kills.record();
  if (kill) kills.target(kill.point, kill.when);
  const context = await scenario.setup(bot);
  debug('act');
  const from = bot.slack.calls.length;
  kills.arm();
  let requestId: string;
  try {
    requestId = await scenario.act(bot, context);
    await bot.drain();
  } finally {
    kills.disarm();
  }
  debug('settle');
  const settled = await (scenario.settle ?? settleRequest)(bot, context, requestId);
  debug('snapshot');
  const state = scenario.snapshot
    ? await scenario.snapshot(bot, context, requestId, from, kills)
    : await snapshotRequest(bot, context, requestId, from, kills.minted, kills.passwords);
  debug('end');
  return { state, settled, stats: kills.stats, fired: kills.fired, points, requestId };
}

/**
 * Whether a kill point lies after a Slack post of its invocation (the post itself, killed after it, or a later
 * call): the only places where a message may be sent twice.
 */
export function afterAPost(points: KillPoint[], point: KillPoint, when: KillWhen): boolean {
  return points.some(
    (p) =>
      p.invocation === point.invocation &&
      /^slack:(chat\.postMessage|chat\.postEphemeral|response_url)/.test(p.label) &&
      (p.index < point.index || (p.index === point.index && when === 'after')),
  );
}

/** Multiset difference: what `a` has more of than `b`. */
export function excess(a: string[], b: string[]): string[] {
  const left = [...b];
  const out: string[] = [];
  for (const x of a) {
    const i = left.indexOf(x);
    if (i >= 0) left.splice(i, 1);
    else out.push(x);
  }
  return out;
}

export interface Comparison {
  /** Differences that break the promise (end state, a missing message, a second live link...). */
  problems: string[];
  /** Messages sent twice (a kill between a post and the write that records it). */
  doubled: string[];
  /** Messages of the recovery itself (failure notices before a Retry). */
  extra: string[];
}

/**
 * Compares a killed run's end state with the uninterrupted run's. Equal: IAM, the request, the audit's distinct
 * actions, the approval message's last render, homes and replies. Messages: none missing; a message sent more
 * often is `doubled`, a message the uninterrupted run never sent is `extra` (a recovery's notices). Credentials:
 * exactly one live link, which reveals the key and password IAM holds, and one secret.
 */
export function compareEndStates(baseline: EndState, killed: EndState, humanRetry: boolean): Comparison {
  const problems: string[] = [];
  const same = (what: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) !== JSON.stringify(b))
      problems.push(`${what}: expected ${JSON.stringify(a)}, got ${JSON.stringify(b)}`);
  };
  same('IAM', baseline.iam, killed.iam);
  const { remaining: _r, error: _e, ...request } = killed.request;
  const { remaining: _br, error: _be, ...baseRequest } = baseline.request;
  same('request', baseRequest, request);
  same('audit', baseline.audit, killed.audit);
  same('approval message', baseline.approvalMessage, killed.approvalMessage);
  if (!humanRetry) same('recovery audit', baseline.recovery, killed.recovery);
  const missing = excess(baseline.messages, killed.messages);
  if (missing.length) problems.push(`messages missing: ${missing.join(' | ')}`);
  const more = excess(killed.messages, baseline.messages);
  const doubled = more.filter((m) => baseline.messages.includes(m));
  const extra = more.filter((m) => !baseline.messages.includes(m));
  if (!humanRetry && extra.length) problems.push(`messages never sent uninterrupted: ${extra.join(' | ')}`);
  const missingHomes = baseline.homes.filter((h) => !killed.homes.includes(h));
  if (missingHomes.length) problems.push(`App Homes not published: ${missingHomes.join(', ')}`);
  const missingReplies = baseline.responses.filter((r) => !killed.responses.includes(r));
  if (missingReplies.length) problems.push(`replies missing: ${missingReplies.join(' | ')}`);
  if (baseline.credentials) same('credentials', baseline.credentials, killed.credentials);
  return { problems, doubled, extra };
}
