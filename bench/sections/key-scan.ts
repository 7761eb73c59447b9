/**
 * The daily key-age scan at scale (`npm run bench -- scan` runs this section alone): moto seeded in-process with
 * 5,000 IAM users under the managed path (500 owners, one access key each and a second for every fourth user), the
 * ownership projection written straight to DynamoDB from the seeding's manifest (key ids and creation times; the
 * refresh that would write it takes minutes against moto and is measured by the `/iam users` section), then in the
 * same run:
 * - the scan as the worker runs it (src/services/key-scan.ts): credential report (GenerateCredentialReport,
 *   GetCredentialReport) joined with the projection, once with no key due and once with every key due (each key's
 *   reminder claimed, one DM per owner to a counting stand-in for Slack);
 * - the per-user approach other tools take: ListUsers (paged), then ListAccessKeys and GetAccessKeyLastUsed per key.
 * IAM calls are counted by SDK middleware on the client.
 *
 * Measured here (2 shared cores, other work running): the scan 2-3 IAM calls per account whatever its size, per-user
 * reads 11,251 (5,626x); with every key due the scan's time is its DynamoDB claims (about 3 per key on moto, one at a
 * time per request: 265 s for 6,250 keys), which the worker spreads over continuation jobs (the policy's runner.partBudgetSeconds).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  GetAccessKeyLastUsedCommand,
  type IAMClient,
  ListAccessKeysCommand,
  ListUsersCommand,
} from '@aws-sdk/client-iam';
import { parse, stringify } from 'yaml';
import { AwsAccounts } from '../../src/aws/accounts.js';
import { buildDeps } from '../../src/build-deps.js';
import { ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { logger } from '../../src/logger.js';
import { scanAccountKeys } from '../../src/services/key-scan.js';
import type { Messenger } from '../../src/services/ports.js';
import { type AwsCall, recordAwsCalls } from '../../test/support/network-calls.js';
import { type Row, root, type Section } from '../lib.js';
import { OWNERS, seededMoto, USERS } from './users.js';

const SECRET = 'bench-signing-secret-0123456789';
const DAY = 86_400_000;
const CALLS_TARGET = 10;
const RATIO_TARGET = 100;

interface ManifestUser {
  name: string;
  owner: string;
  console: boolean;
  keys: { id: string; created: string }[];
}

/** A Slack stand-in that only counts what would be posted. */
function countingMessenger(): Messenger & { posts: number } {
  const m = {
    posts: 0,
    async post(channel: string) {
      m.posts++;
      return { channel, ts: `${m.posts}.000100` };
    },
    async update() {},
    async respond() {},
    async publishHome() {},
    async usergroupMembers() {
      return [];
    },
    async memberStatus() {
      return 'active' as const;
    },
    async memberStanding() {
      return 'member' as const;
    },
    async listMembers() {
      return { members: [] };
    },
    async uploadFile() {},
  };
  return m;
}

/** The per-user approach: ListUsers (paged), ListAccessKeys per user, GetAccessKeyLastUsed per key. */
async function perUserScan(iam: IAMClient, pathPrefix: string): Promise<{ keys: number }> {
  const users: string[] = [];
  let marker: string | undefined;
  do {
    const page = await iam.send(new ListUsersCommand({ PathPrefix: pathPrefix, MaxItems: 1000, Marker: marker }));
    users.push(...(page.Users ?? []).map((u) => u.UserName ?? ''));
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  let keys = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < users.length) {
        const userName = users[next++] as string;
        const listed = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
        for (const k of listed.AccessKeyMetadata ?? []) {
          await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: k.AccessKeyId }));
          keys++;
        }
      }
    }),
  );
  return { keys };
}

export const keyScanSection: Section = {
  title: `key-age scan of ${USERS.toLocaleString('en-US')} IAM users (${OWNERS} owners): credential report vs per-user reads, against moto`,
  async run(): Promise<Row[]> {
    process.env.AWS_ACCESS_KEY_ID ??= 'bench';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'bench';
    const level = logger.getLevelName();
    logger.setLogLevel('SILENT');
    const policy = { ...(parse(readFileSync(path.join(root, 'policy.yml'), 'utf8')) as object), accounts: [] };
    const policyText = stringify(policy);
    const base = { SLACK_SIGNING_SECRET: SECRET, SLACK_BOT_TOKEN: 'xoxb-bench', POLICY_FILE: 'policy.yml' };
    const { users, groups } = loadConfig(base, () => policyText).policy;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-scan-'));
    const manifestPath = path.join(dir, 'manifest.json');
    const moto = await seededMoto(
      users.path,
      groups.map((g) => g.name),
      [manifestPath, '4'],
    );
    try {
      const config = loadConfig(
        { ...base, SLACK_API_URL: 'http://127.0.0.1:1/api/', AWS_ENDPOINT_URL: moto.url, TABLE_PREFIX: 'bench-scan-' },
        () => policyText,
      );
      const calls: AwsCall[] = [];
      const record = recordAwsCalls(calls);
      const clock = new ManualClock(new Date());
      const messenger = countingMessenger();
      const aws = new AwsAccounts({
        region: 'us-east-1',
        endpoint: moto.url,
        accounts: [],
        clock,
        decorateClient: record,
      });
      const deps = buildDeps(config, { createTables: true, overrides: { aws, clock, messenger } });
      await deps.preload();

      // The projection, as the scheduled refresh would have written it (user items only: what the scan reads).
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as ManifestUser[];
      const now = new Date().toISOString();
      const items = manifest.map((u) => ({
        pk: 'account#home',
        sk: u.name.toLowerCase(),
        account: 'home',
        userName: u.name,
        path: users.path,
        owner: u.owner,
        groups: [],
        console: u.console,
        keys: u.keys.map((k) => ({ id: k.id, status: 'Active', createdAt: new Date(`${k.created}Z`).toISOString() })),
        keysObservedAt: now,
        refreshedAt: now,
      }));
      for (let i = 0; i < items.length; i += 25) await deps.store.users.model.batchPut(items.slice(i, i + 25) as never);
      const keyCount = manifest.reduce((n, u) => n + u.keys.length, 0);
      const newest = Math.max(...manifest.flatMap((u) => u.keys.map((k) => Date.parse(`${k.created}Z`))));

      const iamCalls = (from: number) => calls.slice(from).filter((c) => c.startsWith('iam:')).length;
      const measure = async <T>(fn: () => Promise<T>) => {
        const from = calls.length;
        const start = performance.now();
        const result = await fn();
        return { result, ms: performance.now() - start, iam: iamCalls(from) };
      };
      const scan = (day: number, runId: string) => {
        clock.set(new Date(newest + day * DAY + 3_600_000));
        return measure(() =>
          scanAccountKeys(deps, 'home', {
            runId,
            day: clock.now().toISOString().slice(0, 10),
            reportWaitMs: 10_000,
          }),
        );
      };
      const nothingDue = await scan(30, 'bench-30');
      const allDue = await scan(85, 'bench-85');
      const perUser = await measure(() => perUserScan(aws.account().iam, users.path));

      const ratio = perUser.iam / Math.max(1, allDue.iam);
      const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
      return [
        { metric: 'IAM users / active access keys seeded', value: `${manifest.length} / ${keyCount}` },
        {
          metric: 'scan, no key due: IAM calls, wall time',
          value: `${nothingDue.iam} calls, ${s(nothingDue.ms)}`,
          target: `≤ ${CALLS_TARGET} calls`,
          met: nothingDue.iam <= CALLS_TARGET,
        },
        {
          metric: `scan, every key due (${allDue.result.dueKeys} keys): IAM calls, wall time`,
          value: `${allDue.iam} calls, ${s(allDue.ms)} (${allDue.result.sent} DMs, ${messenger.posts} posts in all)`,
          target: `≤ ${CALLS_TARGET} calls`,
          met: allDue.iam <= CALLS_TARGET && allDue.result.dueKeys === keyCount,
        },
        {
          metric: `per-user reads (ListUsers, ListAccessKeys, GetAccessKeyLastUsed): IAM calls, wall time`,
          value: `${perUser.iam.toLocaleString('en-US')} calls, ${s(perUser.ms)} (${perUser.result.keys} keys)`,
        },
        {
          metric: 'IAM calls, per-user ÷ credential report',
          value: `${ratio.toFixed(0)}x`,
          target: `≥ ${RATIO_TARGET}x`,
          met: ratio >= RATIO_TARGET,
        },
        {
          metric: 'wall time, per-user reads ÷ scan with no key due',
          value: `${(perUser.ms / nothingDue.ms).toFixed(1)}x`,
        },
      ];
    } finally {
      moto.child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
      logger.setLogLevel(level);
    }
  },
};
