import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBot, type TestBot } from '../support/bot.js';
import { commandBody, slackSignature } from '../support/slack-request.js';

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot();
});
afterAll(async () => {
  await bot.stop();
});

describe('the Slack Lambda handler', () => {
  it('makes no Slack call when it is built (cold start)', () => {
    expect(bot.slack.calls).toHaveLength(0);
  });

  it('asks Slack auth.test once per warm container, not once per request, when the bot ids are not configured', async () => {
    // This bot has no SLACK_BOT_ID / SLACK_BOT_USER_ID: Bolt 5.1's own authorize called auth.test before every
    // request, and a rate-limited one (the Slack function fails a 429 at once) lost that request (issue 19).
    const requests = 8;

    for (let i = 0; i < requests; i++) {
      const { result } = await bot.command(i % 2 ? 'help' : 'whomai');
      expect(result.statusCode).toBe(200);
    }

    expect(bot.slack.callsOf('auth.test')).toHaveLength(1);
  });

  it('answers a signed /iam help with 200 and every subcommand, ephemerally', async () => {
    const { result } = await bot.command('help');

    expect(result.statusCode).toBe(200);
    const body = JSON.parse(result.body ?? '{}');
    expect(body.response_type).toBe('ephemeral');
    const text = JSON.stringify(body.blocks);
    expect(text).toContain('/iam help');
    expect(text).toContain('/iam whoami');
  });

  it('answers /iam with no subcommand with the help', async () => {
    const { result } = await bot.command('');

    expect(JSON.parse(result.body ?? '{}').text).toContain('help');
  });

  it('suggests the closest subcommand for an unknown one', async () => {
    const { result } = await bot.command('whomai');

    const body = JSON.parse(result.body ?? '{}');
    expect(body.response_type).toBe('ephemeral');
    expect(body.text).toContain('Did you mean `/iam whoami`?');
  });

  it('verifies a signature over a base64-encoded, non-ASCII body (as API Gateway sends it)', async () => {
    const body = commandBody({ text: 'hélp ✓', userId: 'U0REQUESTER', responseUrl: bot.slack.responseUrl('utf8') });
    const ts = Math.floor(Date.now() / 1000);
    const event = {
      ...(await import('../support/slack-request.js')).signedEvent(body, { secret: 'x', signature: null }),
      body: Buffer.from(body, 'utf8').toString('base64'),
      isBase64Encoded: true,
    };
    event.headers = {
      ...event.headers,
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': slackSignature('test-signing-secret-not-real', ts, body),
    };

    const result = await bot.slackHandler(event);

    expect(result.statusCode).toBe(200);
  });

  describe('refuses requests not signed by Slack with 401 and runs no listener', () => {
    const cases: [string, (body: string) => Promise<import('../../src/http/types.js').HttpResult>][] = [
      ['no signature', (body) => bot.send(body, { signature: null })],
      ['a wrong signature', (body) => bot.send(body, { secret: 'some-other-secret-value' })],
      [
        'a body changed after signing',
        async (body) => {
          const ts = Math.floor(Date.now() / 1000);
          const signature = slackSignature('test-signing-secret-not-real', ts, body);
          return bot.send(body.replace('whoami', 'help'), { timestamp: ts, signature });
        },
      ],
      ['a timestamp over 5 minutes old', (body) => bot.send(body, { timestamp: Math.floor(Date.now() / 1000) - 301 })],
    ];

    for (const [name, sendIt] of cases) {
      it(`with ${name}`, async () => {
        const responseId = `unsigned-${name}`;
        const body = commandBody({
          text: 'whoami',
          userId: 'U0REQUESTER',
          responseUrl: bot.slack.responseUrl(responseId),
        });

        const jobsBefore = (await bot.deps.store.jobs.model.scan().exec()).length;

        const result = await sendIt(body);
        await bot.drain();

        expect(result.statusCode).toBe(401);
        expect(result.body ?? '').toBe('');
        const answered = bot.slack.callsOf('response_url').filter((c) => c.args.response_id === responseId);
        expect(answered).toHaveLength(0);
        expect(await bot.deps.store.jobs.model.scan().exec()).toHaveLength(jobsBefore);
      });
    }

    it('while the same request, properly signed, does run the listener', async () => {
      const responseId = 'signed-control';
      const body = commandBody({
        text: 'whoami',
        userId: 'U0REQUESTER',
        responseUrl: bot.slack.responseUrl(responseId),
      });

      const result = await bot.send(body);
      await bot.drain();

      expect(result.statusCode).toBe(200);
      expect(bot.slack.callsOf('response_url').filter((c) => c.args.response_id === responseId)).toHaveLength(1);
    });
  });
});

describe('the App Home tab', () => {
  it('publishes the help when a user opens the Home tab', async () => {
    const body = JSON.stringify({
      type: 'event_callback',
      team_id: 'T0TEAM',
      api_app_id: 'A0APP',
      token: 'legacy-verification-token',
      event_id: 'Ev0HOME',
      event_time: 1_700_000_000,
      event: {
        type: 'app_home_opened',
        user: 'U0REQUESTER',
        channel: 'D0HOME',
        tab: 'home',
        event_ts: '1700000000.000100',
      },
    });

    const result = await bot.send(body, { contentType: 'application/json' });
    const publishedBeforeTheAnswer = bot.slack.callsOf('views.publish').length;
    await bot.drain(); // the worker publishes it

    expect(result.statusCode).toBe(200);
    expect(publishedBeforeTheAnswer).toBe(0);
    const [publish] = bot.slack.callsOf('views.publish');
    expect(publish?.args.user_id).toBe('U0REQUESTER');
    expect(JSON.stringify(publish?.args.view)).toContain('/iam whoami');
  });
});
