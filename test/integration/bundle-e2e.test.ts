/**
 * The shipped bundle, end to end. Builds the four Lambda bundles exactly as `npm run package` ships them
 * (scripts/build.mjs: dist/<function>/index.cjs and the policy as JSON) into a directory of its own, loads them with
 * `require` as the Lambda runtime does, and drives them only through their exported handlers: signed Slack requests
 * into the Slack bundle, API Gateway events into the credential page bundle, the worker bundle invoked for every job
 * the Slack bundle hands over (its real LambdaJobDispatcher, answered by a stand-in Lambda Invoke endpoint), and the
 * schedule bundle's handler. AWS is moto; Slack is the recording fake Web API. Nothing from src/ runs the flows.
 *
 * The steps share one bot, in order, like a day of use; adding a step is one `it` that uses `step`'s helpers.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import type { HttpHandler, HttpResult } from '../../src/http/types.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { pageEvent } from '../support/credentials.js';
import { recordSecret } from '../support/leaks.js';
import { testPolicy } from '../support/policy.js';
import { commandBody, interactionBody, signedEvent } from '../support/slack-request.js';

const SECRET = 'bundle-e2e-signing-secret';
const APPROVALS = 'C0APPROVALS';

interface Bundles {
  slack: HttpHandler;
  web: HttpHandler;
  worker: (event: unknown) => Promise<unknown>;
  schedule: (event?: unknown) => Promise<Record<string, unknown>>;
}

let bot: TestBot; // moto, the fake Slack API and the tables; its own handlers are not used here
let out: string;
let bundles: Bundles;
let lambda: Server;
const invocations: Promise<unknown>[] = [];
const workerErrors: unknown[] = [];
const invocationTypes = new Set<string>();
const savedEnv = { ...process.env };

/**
 * Lambda's Invoke API for the worker, in front of moto: `InvocationType: Event` is answered 202 and the worker
 * bundle's handler then runs the job, as Lambda would; every other request goes on to moto.
 */
async function startLambdaEndpoint(motoUrl: string): Promise<string> {
  lambda = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    if (req.method === 'POST' && /^\/2015-03-31\/functions\/[^/]+\/invocations/.test(req.url ?? '')) {
      invocationTypes.add(String(req.headers['x-amz-invocation-type']));
      res.writeHead(202, { 'content-type': 'application/json' }).end();
      invocations.push(
        bundles.worker(JSON.parse(body.toString('utf8'))).catch((error) => {
          workerErrors.push(error);
        }),
      );
      return;
    }
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k)),
    ) as Record<string, string>;
    const answer = await fetch(`${motoUrl}${req.url}`, {
      method: req.method ?? 'GET',
      headers,
      ...(body.length ? { body } : {}),
    });
    const answerHeaders: Record<string, string> = {};
    answer.headers.forEach((v, k) => {
      if (!['content-encoding', 'transfer-encoding', 'content-length', 'connection'].includes(k)) answerHeaders[k] = v;
    });
    res.writeHead(answer.status, answerHeaders).end(Buffer.from(await answer.arrayBuffer()));
  });
  await new Promise<void>((resolve) => lambda.listen(0, '127.0.0.1', resolve));
  const address = lambda.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}`;
}

/** Waits for every worker invocation so far (and those they started). */
async function drain(): Promise<void> {
  while (invocations.length) await Promise.all(invocations.splice(0));
}

beforeAll(async () => {
  bot = await startTestBot();
  // The tables, as serverless.yml declares them (the bundles create none): let the test bot's store create them.
  const { jobs, audit, requests, links, users, reminders } = bot.deps.store;
  await Promise.all([jobs, audit, requests, links, users, reminders].map((repo) => repo.model.scan().limit(1).exec()));

  out = await mkdtemp(path.join(tmpdir(), 'iam-slack-bot-bundle-e2e-'));
  const policyYaml = path.join(out, 'policy.yml');
  await writeFile(policyYaml, stringify(testPolicy()));
  // @ts-expect-error: scripts/build.mjs is plain JavaScript
  const build = await import('../../scripts/build.mjs');
  const policyJson = await build.compilePolicy({ source: policyYaml, dest: path.join(out, 'dist', 'policy.json') });
  await build.buildLambdas({ outdir: path.join(out, 'dist') });

  const endpoint = await startLambdaEndpoint(bot.moto.url);
  Object.assign(process.env, {
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_BOT_TOKEN: 'xoxb-bundle-e2e',
    SLACK_BOT_ID: 'B0BOT',
    SLACK_BOT_USER_ID: 'U0BOTUSER',
    SLACK_API_URL: bot.slack.url,
    POLICY_FILE: policyJson,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'bundle-e2e-not-a-secret',
    AWS_ENDPOINT_URL: endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: bot.dynamo.url,
    TABLE_PREFIX: bot.dynamo.tablePrefix,
    WORKER_FUNCTION_NAME: 'iam-slack-bot-e2e-worker',
    PUBLIC_URL: 'https://iam-bot.example.com',
  });
  const load = createRequire(import.meta.url);
  const handlerOf = (name: string) => (load(path.join(out, 'dist', name, 'index.cjs')) as { handler: never }).handler;
  bundles = {
    slack: handlerOf('slack'),
    web: handlerOf('web'),
    worker: handlerOf('worker'),
    schedule: handlerOf('schedule'),
  };
}, 180_000);

afterAll(async () => {
  await drain();
  process.env = savedEnv;
  await new Promise((resolve) => lambda?.close(resolve));
  await bot?.stop();
  if (out) await rm(out, { recursive: true, force: true });
});

let responses = 0;
/** `/iam <text>` into the Slack bundle, signed; the ack's JSON and the response_url's id on the fake Slack. */
async function command(text: string, userId: string) {
  const responseId = `e2e${++responses}`;
  const result = await bundles.slack(
    signedEvent(commandBody({ text, userId, responseUrl: bot.slack.responseUrl(responseId, 'command') }), {
      secret: SECRET,
    }),
  );
  return { result, ack: JSON.parse(result.body || '{}') as { text?: string }, responseId };
}

/** A click on a button of a message the bot posted, into the Slack bundle. */
async function click(userId: string, actionId: string, value: string, message: { channel: string; ts: string }) {
  const payload = {
    type: 'block_actions',
    user: { id: userId, username: userId.toLowerCase(), team_id: 'T0TEAM' },
    team: { id: 'T0TEAM', domain: 'example' },
    api_app_id: 'A0APP',
    token: 'legacy-verification-token',
    trigger_id: `${++responses}.${Date.now()}.trigger`,
    response_url: bot.slack.responseUrl(`e2e${responses}`),
    container: { type: 'message', channel_id: message.channel, message_ts: message.ts, is_ephemeral: false },
    channel: { id: message.channel, name: 'x' },
    message: { type: 'message', ts: message.ts, text: '', blocks: [] },
    actions: [{ type: 'button', action_id: actionId, block_id: 'b', value, action_ts: '1' }],
  };
  return bundles.slack(signedEvent(interactionBody(payload), { secret: SECRET }));
}

const posts = (channel: string) => bot.slack.postsTo(channel);
const linkIn = (channel: string) => {
  for (const post of posts(channel).reverse()) {
    const m = /https:\/\/iam-bot\.example\.com\/credentials\/([A-Za-z0-9_-]+)/.exec(JSON.stringify(post.args));
    if (m?.[1]) return m[1];
  }
  throw new Error(`no credential link sent to ${channel}`);
};
const keysOf = async (userName: string) =>
  (await bot.deps.aws.account().iam.send(new ListAccessKeysCommand({ UserName: userName }))).AccessKeyMetadata ?? [];

describe('the shipped bundles, through their handlers', () => {
  it('answer /iam help (Slack bundle)', async () => {
    const { result, ack } = await command('help', 'U0REQUESTER');

    expect(result.statusCode).toBe(200);
    expect(ack.text).toMatch(/^IAM bot commands: help, whoami, create-user/);
  });

  it('create a user: request, approval, provisioning by the worker bundle, and the reveal on the credential page bundle', async () => {
    const { result: asked, responseId: askedId } = await command(
      'create-user e2e-bot --for <@U0RECIPIENT|recipient> --groups ci-deployers --keys --reason "Bundle test"',
      'U0REQUESTER',
    );
    await drain();
    // acked with no message; the worker bundle answers once the request is posted
    expect(asked.body ?? '').toBe('');
    expect(bot.slack.shown(askedId).map((m) => m.text)).toEqual([expect.stringContaining('is waiting for approval')]);
    const approval = posts(APPROVALS).at(-1);
    const requestId = /"value":"(req-[A-Za-z0-9]+)"/.exec(JSON.stringify(approval?.args.blocks))?.[1];
    expect(requestId).toBeDefined();

    const approved = await click('U0APPROVER1', 'request_approve', requestId ?? '', {
      channel: APPROVALS,
      ts: String((await bot.deps.store.requests.get(requestId ?? ''))?.message?.ts),
    });
    await drain();

    expect(approved.statusCode).toBe(200);
    expect(workerErrors).toEqual([]);
    expect([...invocationTypes]).toEqual(['Event']); // the Slack bundle invoked the worker asynchronously
    expect((await bot.deps.store.requests.get(requestId ?? ''))?.status).toBe('done');
    const [key] = await keysOf('e2e-bot');
    expect(key?.Status).toBe('Active');

    const token = linkIn('U0RECIPIENT');
    const page = (await bundles.web(pageEvent('GET', token))) as HttpResult;
    const revealed = (await bundles.web(pageEvent('POST', token))) as HttpResult;
    const secret = /aws_secret_access_key\s*=\s*([A-Za-z0-9/+]{40})/.exec(String(revealed.body))?.[1];
    recordSecret(secret, 'the secret access key the credential page bundle revealed'); // the leak check covers it

    expect(page.statusCode).toBe(200);
    expect(page.body).not.toContain(key?.AccessKeyId ?? 'no key'); // nothing is read before Reveal
    expect(revealed.statusCode).toBe(200);
    expect(revealed.body).toContain(key?.AccessKeyId);
    expect(secret).toBeDefined();
    const again = (await bundles.web(pageEvent('POST', token))) as HttpResult;
    expect(again.body).not.toContain(secret ?? 'no secret'); // once only
  });

  it('rotate the key: the owner’s /iam rotate-key, the new key delivered by the worker bundle', async () => {
    const { ack, responseId } = await command('rotate-key e2e-bot', 'U0RECIPIENT');
    await drain();

    // acked with no message; the worker bundle asks IAM and answers under the command (issue 19)
    expect(ack.text).toBeUndefined();
    expect(bot.slack.shown(responseId).at(-1)?.text).toContain('needs no approval');
    expect(workerErrors).toEqual([]);
    const keys = await keysOf('e2e-bot');
    expect(keys.map((k) => k.Status)).toEqual(['Active', 'Active']); // the old one until the grace period ends
    expect(linkIn('U0RECIPIENT')).toBeDefined();
  });

  it('run the scheduled tasks (schedule bundle): every task ran, none failed', async () => {
    const results = await bundles.schedule();

    expect(Object.keys(results)).toContain('refresh-user-projection');
    expect(Object.values(results).filter((r) => 'error' in (r as object))).toEqual([]);
  });

  it('run the daily schedule (schedule bundle) 85 days on: the owner gets one reminder DM with Rotate now (worker bundle)', async () => {
    // The bundles read the time from Date: only Date is faked (timers, sockets and moto run as usual). The keys
    // were created today in moto, so at day 85 the credential report shows them 85 days old.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 85 * 24 * 3_600_000);
    try {
      const before = posts('U0RECIPIENT').length;
      const results = await bundles.schedule({ tasks: ['reconcile-owners', 'key-scan'] });
      await drain();

      expect(Object.keys(results)).toEqual(['reconcile-owners', 'key-scan']);
      expect(Object.values(results).filter((r) => 'error' in (r as object))).toEqual([]);
      expect(workerErrors).toEqual([]);
      const reminders = posts('U0RECIPIENT').slice(before);
      expect(reminders).toHaveLength(1);
      expect(JSON.stringify(reminders[0]?.args.blocks)).toContain('e2e-bot');
      expect(JSON.stringify(reminders[0]?.args.blocks)).toContain('key-rotate-now');
    } finally {
      vi.useRealTimers();
    }
  });

  it('take a leaver’s user_change event (Slack bundle): the worker bundle disables what they own, one report', async () => {
    bot.slack.members.deactivate('U0RECIPIENT'); // what users.info says from now on
    const body = JSON.stringify({
      type: 'event_callback',
      team_id: 'T0TEAM',
      api_app_id: 'A0APP',
      token: 'legacy-verification-token',
      event_id: 'Ev0E2ELEAVER',
      event_time: Math.floor(Date.now() / 1000),
      event: {
        type: 'user_change',
        user: { id: 'U0RECIPIENT', team_id: 'T0TEAM', name: 'recipient', deleted: true },
        cache_ts: Math.floor(Date.now() / 1000),
        event_ts: `${Date.now() / 1000}`,
      },
    });
    const before = posts(APPROVALS).length;

    const result = await bundles.slack(signedEvent(body, { secret: SECRET, contentType: 'application/json' }));
    await drain();

    expect(result.statusCode).toBe(200);
    expect(workerErrors).toEqual([]);
    expect((await keysOf('e2e-bot')).map((k) => k.Status)).toEqual(['Inactive', 'Inactive']);
    const reports = posts(APPROVALS)
      .slice(before)
      .filter((p) => JSON.stringify(p.args).includes('e2e-bot'));
    expect(reports).toHaveLength(1);
  });
});
