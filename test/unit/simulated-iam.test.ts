/**
 * The simulated IAM of `npm run bench -- org` (bench/sim/iam.ts) answers the bot's own SDK client as IAM would: the
 * SDK serializes a real Query-protocol request and parses the XML answer. Checked here because the bench's numbers
 * are only as good as the simulator: pagination by Marker, and the account's request rate (the `Throttling` error
 * the SDK knows, once the bucket is empty).
 */
import { GetUserCommand, IAMClient, ListUsersCommand } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { IAM_BURST, SimulatedIam } from '../../bench/sim/iam.js';
import { VirtualTime } from '../../bench/sim/virtual-time.js';

function setup(users: number) {
  const vt = new VirtualTime('2026-12-01T00:00:00Z');
  const sim = new SimulatedIam(vt, async () => {});
  const account = sim.addAccount('home', '111111111111');
  for (let i = 0; i < users; i++)
    account.users.set(`user-${i}`, {
      name: `user-${i}`,
      path: i % 2 === 0 ? '/iam-slack-bot/' : '/other/',
      id: `AIDA${i}`,
      created: 0,
      tags: [],
      groups: [],
      keys: [],
      login: false,
    });
  // one attempt: the test sees what IAM answered, not the SDK's retries
  const iam = new IAMClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    maxAttempts: 1,
  });
  (iam.config as { requestHandler: unknown }).requestHandler = sim.handlerFor('home', 'iam');
  /** Runs `fn` while the virtual clock turns. */
  const run = async <T>(fn: () => Promise<T>): Promise<T> => {
    let out: { v: T } | { e: unknown } | undefined;
    fn().then(
      (v) => {
        out = { v };
      },
      (e) => {
        out = { e };
      },
    );
    await vt.runUntil(vt.ms() + 3_600_000, undefined, () => out !== undefined);
    if (!out) throw new Error('did not end');
    if ('e' in out) throw out.e;
    return out.v;
  };
  return { vt, sim, iam, run };
}

describe('the simulated IAM of the org bench', () => {
  it('pages ListUsers by Marker, at most MaxItems a page, under the path prefix asked', async () => {
    // Prepare
    const { iam, run } = setup(2_500);
    // Act
    const pages: number[] = [];
    await run(async () => {
      let marker: string | undefined;
      do {
        const page = await iam.send(
          new ListUsersCommand({ PathPrefix: '/iam-slack-bot/', MaxItems: 500, Marker: marker }),
        );
        pages.push(page.Users?.length ?? 0);
        marker = page.IsTruncated ? page.Marker : undefined;
      } while (marker);
    });
    // Assess
    expect(pages).toEqual([500, 500, 250]);
  });

  it('answers Throttling once the account has made its burst of calls at one instant, and NoSuchEntity for a user it does not have', async () => {
    // Prepare
    const { iam, run, sim } = setup(1);
    // Act
    const answers = await run(() =>
      Promise.allSettled(
        Array.from({ length: IAM_BURST + 10 }, () => iam.send(new GetUserCommand({ UserName: 'user-0' }))),
      ),
    );
    const missing = await run(() => iam.send(new GetUserCommand({ UserName: 'nobody' })).catch((e: Error) => e.name));
    // Assess
    const names = answers.map((a) => (a.status === 'fulfilled' ? 'ok' : (a.reason as Error).name));
    expect(names.filter((n) => n === 'ok')).toHaveLength(IAM_BURST);
    expect(names.filter((n) => n === 'Throttling')).toHaveLength(10);
    expect(sim.throttled).toBe(10);
    expect(missing).toBe('NoSuchEntityException');
  });
});
