/**
 * What a member is to this workspace (SlackMessenger.memberStanding), from users.info as the Slack stand-in answers it
 * (src/local/fake-slack.ts: `is_ultra_restricted`, `is_restricted`, another `team_id` with `is_stranger`, `is_bot`,
 * `deleted`), and the approver check built on it (requireFullMember: cached a minute, fails closed).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { NotAuthorizedError } from '../../src/errors.js';
import { FAKE_TEAM_ID, FakeSlack } from '../../src/local/fake-slack.js';
import { requireFullMember, STANDING_CACHE_MS } from '../../src/services/slack-members.js';
import { slackWebClient } from '../../src/slack/client.js';
import { SlackMessenger } from '../../src/slack/messenger.js';

let slack: FakeSlack | undefined;
afterEach(async () => {
  await slack?.stop();
  slack = undefined;
});

async function start(teamId?: string) {
  slack = await new FakeSlack().start();
  slack.members.add(
    'U0FULL',
    { id: 'U0GUEST', guest: 'single' },
    { id: 'U0MULTI', guest: 'multi' },
    { id: 'U0EXT', otherOrg: true },
    { id: 'U0BOT', isBot: true },
    { id: 'U0GONE', deleted: true },
  );
  const messenger = new SlackMessenger(
    slackWebClient({ SLACK_BOT_TOKEN: 'xoxb-test', SLACK_API_URL: slack.url }, { answering: true }),
    teamId ? { teamId } : {},
  );
  return { s: slack, messenger };
}

describe('memberStanding', () => {
  it('tells a full member from guests, another organisation’s member, a bot, a deactivated member and an unknown id, asking auth.test once', async () => {
    // Prepare
    const { s, messenger } = await start();

    // Act
    const standings = [];
    for (const id of ['U0FULL', 'U0GUEST', 'U0MULTI', 'U0EXT', 'U0BOT', 'U0GONE', 'U0NOBODY'])
      standings.push(await messenger.memberStanding(id));

    // Assess
    expect(standings).toEqual([
      'member',
      'single-channel-guest',
      'multi-channel-guest',
      'external',
      'bot',
      'deactivated',
      'not-found',
    ]);
    expect(s.callsOf('auth.test')).toHaveLength(1);
    expect(s.callsOf('users.info')).toHaveLength(7);
  });

  it('asks no auth.test when SLACK_TEAM_ID names the workspace, and a workspace id that is not Slack’s makes everyone external', async () => {
    // Prepare
    const { s, messenger } = await start(FAKE_TEAM_ID);
    const other = new SlackMessenger(
      slackWebClient({ SLACK_BOT_TOKEN: 'xoxb-test', SLACK_API_URL: s.url }, { answering: true }),
      { teamId: 'T0ELSEWHERE' },
    );

    // Act
    const here = await messenger.memberStanding('U0FULL');
    const there = await other.memberStanding('U0FULL');

    // Assess
    expect([here, there]).toEqual(['member', 'external']);
    expect(s.callsOf('auth.test')).toHaveLength(0);
  });

  it('takes an Enterprise Grid member of another workspace of the organisation who also belongs to this one, and Slackbot as a bot', async () => {
    // Prepare: users.info as Slack answers it in a Grid: team_id is the member's home workspace, enterprise_user.teams
    // every workspace they belong to
    const { s, messenger } = await start(FAKE_TEAM_ID);
    s.answers.set('users.info', (args) => {
      const teams = args.user === 'U0GRIDIN' ? ['T0SISTER', FAKE_TEAM_ID] : ['T0SISTER'];
      return {
        ok: true,
        user: {
          id: args.user,
          team_id: args.user === 'USLACKBOT' ? FAKE_TEAM_ID : 'T0SISTER',
          deleted: false,
          is_bot: false,
          ...(args.user === 'USLACKBOT' ? {} : { enterprise_user: { enterprise_id: 'E0ORG', teams } }),
        },
      };
    });

    // Act
    const standings = [
      await messenger.memberStanding('U0GRIDIN'),
      await messenger.memberStanding('U0GRIDOUT'),
      await messenger.memberStanding('USLACKBOT'),
    ];

    // Assess
    expect(standings).toEqual(['member', 'external', 'bot']);
  });

  it('throws when users.info fails (other than user_not_found) or auth.test fails, and asks auth.test again next time', async () => {
    // Prepare
    const { s, messenger } = await start();
    s.members.failWith('U0GUEST', 'fatal_error');
    s.failNext('auth.test', 'fatal_error');
    const outcome = (p: Promise<string>) =>
      p.then(
        (standing) => standing,
        (error: { data?: { error?: string } }) => `threw ${error.data?.error}`,
      );

    // Act
    const infoFailed = await outcome(messenger.memberStanding('U0GUEST'));
    const teamFailed = await outcome(messenger.memberStanding('U0FULL'));
    const then = await outcome(messenger.memberStanding('U0FULL'));

    // Assess
    expect([infoFailed, teamFailed, then]).toEqual(['threw fatal_error', 'threw fatal_error', 'member']);
    expect(s.callsOf('auth.test')).toHaveLength(2);
  });
});

describe('requireFullMember', () => {
  /** A Messenger whose memberStanding answers from a table and counts its calls. */
  function slackSaying(answers: Record<string, string>) {
    const calls: string[] = [];
    const messenger = {
      async memberStanding(id: string) {
        calls.push(id);
        const answer = answers[id] ?? 'member';
        if (answer === 'error') throw Object.assign(new Error('internal_error'), { name: 'SlackError' });
        return answer;
      },
    } as never;
    return { messenger, calls };
  }

  it('lets a full member through, asking Slack once a minute at most', async () => {
    // Prepare
    const { messenger, calls } = slackSaying({});
    const clock = new ManualClock();

    // Act
    await requireFullMember({ messenger, clock }, 'U0FULL', 'approve');
    clock.advance(STANDING_CACHE_MS - 1);
    await requireFullMember({ messenger, clock }, 'U0FULL', 'approve');
    clock.advance(1);
    await requireFullMember({ messenger, clock }, 'U0FULL', 'approve');

    // Assess
    expect(calls).toEqual(['U0FULL', 'U0FULL']);
  });

  it('refuses when Slack cannot answer, and does not keep the failure', async () => {
    // Prepare
    const answers: Record<string, string> = { U0FULL: 'error' };
    const { messenger, calls } = slackSaying(answers);
    const clock = new ManualClock();

    // Act
    const refused = await requireFullMember({ messenger, clock }, 'U0FULL', 'approve').catch((e: Error) => e);
    answers.U0FULL = 'member';
    const then = await requireFullMember({ messenger, clock }, 'U0FULL', 'approve');

    // Assess
    expect(refused).toBeInstanceOf(NotAuthorizedError);
    expect((refused as Error).message).toContain('I could not check with Slack');
    expect(then).toBeUndefined();
    expect(calls).toHaveLength(2);
  });
});
