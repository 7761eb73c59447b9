/**
 * A listener that fails after its ack (here: its ephemeral answer cannot be delivered because the response_url
 * refuses it) still gives Slack the ack, and the failure is logged without the request's payload.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REQUEST_APPROVE } from '../../src/blocks/ids.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { capturedOutput } from '../support/setup.js';

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot();
});
afterAll(async () => {
  await bot.stop();
});

describe('a listener that fails after its ack', () => {
  it('still answers Slack with the ack (200), and logs the failure by name only', async () => {
    await bot.command('help'); // Bolt's one auth.test (the test bot has no SLACK_BOT_ID), while Slack still answers
    await bot.slack.stop(); // the response_url (and the rest of the Slack API) now refuses connections

    const { result } = await bot.clickButton({
      userId: 'U0APPROVER1',
      actionId: REQUEST_APPROVE,
      value: 'no-such-request-id',
    });

    expect(result.statusCode).toBe(200);
    const logged = capturedOutput.join('').split('\n');
    const line = logged.find((l) => l.includes('A Slack listener failed after its ack'));
    expect(line).toBeDefined();
    expect(line).not.toContain('no-such-request-id');
  });
});
