/**
 * The ownership projection at the size where its old layout broke (issue 20): more than 1,000 users nobody owns, all
 * under one owner partition (`owner#-`). The old layout kept one index item per owner with an attribute per user;
 * DynamoDB charges an update for the whole item (up to 400 KB), and that item passed the 400 KB limit at about 1,000
 * users, after which every write of an unowned user failed a ValidationException first. Here no item may grow with
 * the number of users, a write of one user is two small writes, and the owner's users are read with a Query (every
 * page), consistently where the read decides a change.
 *
 * The users are written through UserStore.put (as the refresh and userChanged write them), not through IAM: 1,100
 * users through moto's IAM and the scheduled refresh would take minutes.
 */
import dynamoose from 'dynamoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import type { ProjectedState } from '../../src/store/users.js';
import { startTestBot, type TestBot } from '../support/bot.js';

let bot: TestBot;
const clock = new ManualClock(new Date('2026-12-07T09:00:00Z'));
/** The DynamoDB requests the bot sent, with their input (a Query's ConsistentRead, say). */
const sent: { command: string; input: Record<string, unknown> }[] = [];

const UNOWNED_USERS = 1100;

const state = (i: number): ProjectedState => ({
  account: 'home',
  userName: `unowned-${String(i).padStart(5, '0')}`,
  path: '/iam-slack-bot/',
  groups: ['read-only'],
  console: i % 3 === 0,
  keys: [
    {
      id: `AKIAUNOWNED${String(i).padStart(9, '0')}`,
      status: 'Active',
      createdAt: '2026-10-01T08:00:00.000Z',
      lastUsedAt: '2026-12-01T08:00:00.000Z',
      lastUsedService: 's3',
      lastUsedRegion: 'eu-west-1',
    },
  ],
  keysObservedAt: clock.now().toISOString(),
  refreshedAt: clock.now().toISOString(),
});

/** Runs `fn` over `items`, `size` at a time (as the refresh writes). */
async function inBatches<T>(items: readonly T[], size: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

/** Every item of the users table with its size in bytes (names and values, about as DynamoDB counts it). */
async function itemSizes(): Promise<{ key: string; bytes: number }[]> {
  const { unmarshall } = dynamoose.aws.converter();
  const out: { key: string; bytes: number }[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await dynamoose.aws
      .ddb()
      .scan({ TableName: `${bot.dynamo.tablePrefix}users`, ExclusiveStartKey: start as never });
    for (const item of page.Items ?? []) {
      const plain = unmarshall(item);
      out.push({ key: `${plain.pk} ${plain.sk}`, bytes: Buffer.byteLength(JSON.stringify(plain)) });
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return out;
}

beforeAll(async () => {
  bot = await startTestBot({
    clock,
    decorateDynamo: (client) => {
      (
        client as {
          middlewareStack: {
            add(
              m: (
                next: (args: { input: unknown }) => Promise<unknown>,
                context: { commandName?: string },
              ) => (args: { input: unknown }) => Promise<unknown>,
              options: { step: 'initialize'; name: string },
            ): void;
          };
        }
      ).middlewareStack.add(
        (next, context) => async (args) => {
          sent.push({
            command: (context.commandName ?? '').replace(/Command$/, ''),
            input: args.input as Record<string, unknown>,
          });
          return next(args);
        },
        { step: 'initialize', name: 'recordDynamoInputs' },
      );
    },
  });
  const users = Array.from({ length: UNOWNED_USERS }, (_, i) => state(i));
  await bot.as('worker', () => inBatches(users, 16, (u) => bot.deps.store.users.put(u, { ifRefreshedAt: null })));
}, 1_200_000);

afterAll(async () => {
  await bot?.stop();
});

describe(`the projection with ${UNOWNED_USERS.toLocaleString('en-US')} users nobody owns`, () => {
  it('holds no item that grows with the number of users: every item stays under 2 KB', async () => {
    const sizes = await itemSizes();

    expect(sizes.length).toBeGreaterThanOrEqual(2 * UNOWNED_USERS);
    const largest = sizes.reduce((a, b) => (b.bytes > a.bytes ? b : a));
    expect(largest.bytes, `largest item: ${largest.key}`).toBeLessThan(2048);
  }, 300_000);

  it('writes one more unowned user with two small writes, neither refused', async () => {
    const from = sent.length;

    const written = await bot.as('worker', () =>
      bot.deps.store.users.put(state(UNOWNED_USERS), { ifRefreshedAt: null }),
    );

    expect(written).toBe(true);
    expect(sent.slice(from).map((c) => c.command)).toEqual(['UpdateItem', 'PutItem']);
  }, 300_000);

  it('reads every unowned user back with a consistent Query of their partition, where the read decides a change', async () => {
    const from = sent.length;

    const { users, more } = await bot.as('worker', () => bot.deps.store.users.ownedBy(undefined, { consistent: true }));

    expect(more).toBe(false);
    expect(users).toHaveLength(UNOWNED_USERS + 1);
    expect(new Set(users.map((u) => u.userName)).size).toBe(UNOWNED_USERS + 1);
    const reads = sent.slice(from);
    expect(reads.length).toBeGreaterThanOrEqual(1);
    for (const read of reads) {
      expect(read.command).toBe('Query');
      expect(read.input.ConsistentRead).toBe(true);
    }
  }, 300_000);
});
