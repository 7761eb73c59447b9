/**
 * Reveal latency of the credential page: a POST /credentials/{token} through the web handler Lambda runs (claim in
 * DynamoDB, read and force-delete the secret, audit, DM update), warm, against a local moto server and a local
 * Slack stand-in. Each iteration delivers a new link first; only the POST is timed.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CreateAccessKeyCommand, CreateUserCommand } from '@aws-sdk/client-iam';
import { buildDeps } from '../../src/build-deps.js';
import { loadConfig } from '../../src/config.js';
import type { HttpEvent } from '../../src/http/types.js';
import { FakeSlack } from '../../src/local/fake-slack.js';
import { startMoto } from '../../src/local/moto.js';
import { logger } from '../../src/logger.js';
import type { CredentialBundle } from '../../src/services/credential-types.js';
import { deliverCredentials } from '../../src/services/credentials.js';
import { createWebHandler } from '../../src/web/index.js';
import { ms, percentile, type Row, root, type Section } from '../lib.js';

export interface RevealBenchOptions {
  /** Untimed reveals first (default 20). */
  warmup?: number;
  /** Timed reveals (default 200). */
  iterations?: number;
}

/** Targets for a click that should feel instant; moto is slower than the real services on most calls. */
const P50_TARGET_MS = 150;
const P99_TARGET_MS = 500;

function revealEvent(token: string): HttpEvent {
  const rawPath = `/credentials/${token}`;
  return {
    version: '2.0',
    routeKey: 'POST /credentials/{token}',
    rawPath,
    rawQueryString: '',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'bench' },
    pathParameters: { token },
    requestContext: {
      http: { method: 'POST', path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' },
      requestId: 'bench',
      routeKey: 'POST /credentials/{token}',
      stage: '$default',
      timeEpoch: Date.now(),
    },
    body: '',
    isBase64Encoded: false,
  } as unknown as HttpEvent;
}

/**
 * Measures reveal latency and returns the rows: p50 and p99 (with targets), and the mean. Starts and stops its own
 * moto server and Slack stand-in; prints nothing (the bot's logs are raised to WARN while it runs).
 */
export async function measureRevealLatency(options: RevealBenchOptions = {}): Promise<Row[]> {
  const warmup = options.warmup ?? 20;
  const iterations = options.iterations ?? 200;
  const [moto, slack] = await Promise.all([startMoto(), new FakeSlack().start()]);
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  process.env.AWS_ACCESS_KEY_ID = 'bench';
  process.env.AWS_SECRET_ACCESS_KEY = 'bench';
  const level = logger.getLevelName();
  logger.setLogLevel('WARN');
  try {
    const config = loadConfig({
      SLACK_SIGNING_SECRET: 'bench-signing-secret-0123456789',
      SLACK_BOT_TOKEN: 'xoxb-0000-bench',
      SLACK_API_URL: slack.url,
      POLICY_FILE: path.join(root, 'policy.yml'),
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL: moto.url,
      TABLE_PREFIX: 'bench-',
      PUBLIC_URL: 'http://127.0.0.1:1',
    });
    let lastToken = '';
    const deps = buildDeps(config, {
      createTables: true,
      overrides: {
        randomToken: () => {
          lastToken = randomBytes(32).toString('base64url');
          return lastToken;
        },
      },
    });
    const web = createWebHandler(deps);
    const iam = deps.aws.account().iam;
    await iam.send(new CreateUserCommand({ UserName: 'bench-reveal' }));
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: 'bench-reveal' }))).AccessKey;
    const bundle: CredentialBundle = {
      accountId: '123456789012',
      region: 'us-east-1',
      userName: 'bench-reveal',
      accessKey: { accessKeyId: key?.AccessKeyId ?? '', secretAccessKey: key?.SecretAccessKey ?? '' },
    };

    const samples: number[] = [];
    for (let i = 0; i < warmup + iterations; i++) {
      await deliverCredentials(deps, {
        deliveryKey: `bench-${i}`,
        requestId: `bench-${i}`,
        recipientSlackId: 'U0BENCH',
        requesterSlackId: 'U0BENCHREQ',
        approverSlackIds: ['U0BENCHAPP'],
        account: 'home',
        purpose: 'Benchmark',
        bundle,
      });
      const started = performance.now();
      const result = await web(revealEvent(lastToken));
      const elapsed = performance.now() - started;
      if (result.statusCode !== 200 || !result.body?.includes('data-testid="secret-access-key"')) {
        throw new Error(`reveal ${i} answered ${result.statusCode} without the credentials`);
      }
      if (i >= warmup) samples.push(elapsed);
    }
    const p50 = percentile(samples, 50);
    const p99 = percentile(samples, 99);
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    const label = `reveal POST via web handler (moto), warm`;
    return [
      {
        metric: `${label}, p50 of ${samples.length}`,
        value: ms(p50),
        target: `≤ ${P50_TARGET_MS} ms`,
        met: p50 <= P50_TARGET_MS,
      },
      {
        metric: `${label}, p99 of ${samples.length}`,
        value: ms(p99),
        target: `≤ ${P99_TARGET_MS} ms`,
        met: p99 <= P99_TARGET_MS,
      },
      { metric: `${label}, mean`, value: ms(mean) },
    ];
  } finally {
    logger.setLogLevel(level);
    process.env.AWS_ACCESS_KEY_ID = saved.id;
    process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
    if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
    await Promise.all([moto.stop(), slack.stop()]);
  }
}

/** The section for bench/run.ts. */
export const revealLatency: Section = {
  title: 'Credential page reveal latency, warm',
  run: () => measureRevealLatency(),
};
