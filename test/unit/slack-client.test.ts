/**
 * The Web API clients the bot builds (src/slack/client.ts), driven against the strict Slack stand-in: the Slack
 * function's client (`answering`), whose calls are inside Slack's 3 seconds, never sleeps out a 429; the worker's
 * does, and then answers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeSlack } from '../../src/local/fake-slack.js';
import { slackWebClient } from '../../src/slack/client.js';
import { SlackMessenger } from '../../src/slack/messenger.js';

let slack: FakeSlack | undefined;
afterEach(async () => {
  await slack?.stop();
  slack = undefined;
});

async function start(): Promise<FakeSlack> {
  slack = await new FakeSlack().start();
  slack.members.add('U0ALICE');
  return slack;
}

describe('the Slack Web API clients', () => {
  it('the Slack function’s client fails a rate-limited call at once, without waiting for Retry-After or retrying it', async () => {
    // Prepare: Slack answers the next users.info with 429 (Retry-After: 1)
    const s = await start();
    s.rateLimited.set('users.info', 1);
    const messenger = new SlackMessenger(
      slackWebClient({ SLACK_BOT_TOKEN: 'xoxb-test', SLACK_API_URL: s.url }, { answering: true }),
    );

    // Act
    const outcome = await messenger.memberStatus('U0ALICE').then(
      (status) => ({ status }),
      (error: Error) => ({ error: error.name, code: (error as { code?: string }).code }),
    );

    // Assess: a rate-limited error, and Slack asked once
    expect(outcome).toEqual({ error: 'WebAPIRateLimitedError', code: 'slack_webapi_rate_limited_error' });
    expect(s.callsOf('users.info')).toHaveLength(1);
  });

  it('the worker’s client waits out Retry-After and answers', async () => {
    // Prepare: Slack answers the next users.info with 429 (Retry-After: 1)
    const s = await start();
    s.rateLimited.set('users.info', 1);
    const messenger = new SlackMessenger(slackWebClient({ SLACK_BOT_TOKEN: 'xoxb-test', SLACK_API_URL: s.url }));

    // Act
    const status = await messenger.memberStatus('U0ALICE');

    // Assess: the answer, after a second call
    expect(status).toBe('active');
    expect(s.callsOf('users.info')).toHaveLength(2);
  });

  it('asks usergroups.users.list (tier 2) once for repeated approver checks of a warm process, again in a new one', async () => {
    // Prepare: a user group with one member
    const s = await start();
    s.usergroups.set('S0APPROVERS', ['U0ALICE']);
    const messenger = new SlackMessenger(
      slackWebClient({ SLACK_BOT_TOKEN: 'xoxb-test', SLACK_API_URL: s.url }, { answering: true }),
    );

    // Act: three checks in one process, then one after a cold start (the cache forgotten)
    for (let i = 0; i < 3; i++) await messenger.usergroupMembers('S0APPROVERS');
    const warm = s.callsOf('usergroups.users.list').length;
    messenger.forgetUsergroups();
    await messenger.usergroupMembers('S0APPROVERS');

    // Assess
    expect(warm).toBe(1);
    expect(s.callsOf('usergroups.users.list')).toHaveLength(2);
  });
});
