/** memberStates (src/services/slack-members.ts): who is still in Slack, from users.info, cached and capped per run. */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import type { Messenger } from '../../src/services/ports.js';
import { MAX_LOOKUPS, MEMBER_CACHE_MS, memberStates } from '../../src/services/slack-members.js';

/** A Messenger whose users.info answers from a table and counts its calls (the only method memberStates uses). */
function slackSaying(answers: Record<string, 'active' | 'deleted' | 'not-found' | 'error'>) {
  const calls: string[] = [];
  const messenger = {
    async memberStatus(id: string) {
      calls.push(id);
      const answer = answers[id] ?? 'active';
      if (answer === 'error') throw Object.assign(new Error('internal_error'), { name: 'SlackError' });
      return answer;
    },
  } as unknown as Messenger;
  return { messenger, calls };
}

describe('memberStates', () => {
  it('maps users.info to active, deactivated and unknown, and leaves out a member Slack could not answer about', async () => {
    const { messenger } = slackSaying({ U0GONE: 'deleted', U0NOBODY: 'not-found', U0FLAKY: 'error' });

    const states = await memberStates({ messenger, clock: new ManualClock() }, [
      'U0HERE',
      'U0GONE',
      'U0NOBODY',
      'U0FLAKY',
    ]);

    expect(Object.fromEntries(states)).toEqual({ U0HERE: 'active', U0GONE: 'deactivated', U0NOBODY: 'unknown' });
  });

  it(`asks Slack at most ${MAX_LOOKUPS} times a call; the rest are left out (asked next run), never guessed`, async () => {
    const { messenger, calls } = slackSaying({});
    const ids = Array.from({ length: MAX_LOOKUPS + 20 }, (_, i) => `U0M${String(i).padStart(4, '0')}`);

    const states = await memberStates({ messenger, clock: new ManualClock() }, ids);

    expect(calls).toHaveLength(MAX_LOOKUPS);
    expect(states.size).toBe(MAX_LOOKUPS);
    expect(ids.slice(MAX_LOOKUPS).some((id) => states.has(id))).toBe(false);
  });

  it('reuses an answer for a few minutes, asks again after, and always when asked for a fresh one', async () => {
    const clock = new ManualClock();
    const { messenger, calls } = slackSaying({});
    await memberStates({ messenger, clock }, ['U0CACHED']);
    await memberStates({ messenger, clock }, ['U0CACHED']);
    expect(calls).toHaveLength(1);

    await memberStates({ messenger, clock }, ['U0CACHED'], { fresh: true });
    expect(calls).toHaveLength(2);

    clock.advance(MEMBER_CACHE_MS + 1);
    await memberStates({ messenger, clock }, ['U0CACHED']);
    expect(calls).toHaveLength(3);
  });
});
