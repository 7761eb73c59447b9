import { WebClient } from '@slack/web-api';
import type { Env } from '../config.js';

/**
 * The Slack Web API client, pointed at SLACK_API_URL when set (tests, local Slack-compatible servers).
 *
 * `answering`: the client of a function that answers Slack's requests (the Slack function: on Lambda, Bolt answers
 * Slack only once every listener has finished, so each of its calls is inside Slack's 3 seconds). It never sleeps out
 * a 429's Retry-After (`rejectRateLimitedCalls`: the call fails at once, and the listener answers that it could not
 * ask Slack), and retries a 5xx or a network error once after 100 ms instead of twice after 1 and 2 s. Other
 * functions (worker, schedule) wait out a 429 and retry twice.
 */
export function slackWebClient(
  env: Pick<Env, 'SLACK_BOT_TOKEN' | 'SLACK_API_URL'>,
  options: { answering?: boolean } = {},
): WebClient {
  return new WebClient(env.SLACK_BOT_TOKEN, {
    ...(env.SLACK_API_URL ? { slackApiUrl: env.SLACK_API_URL } : {}),
    ...(options.answering
      ? { rejectRateLimitedCalls: true, retryConfig: { retries: 1, factor: 1, minTimeout: 100, maxTimeout: 100 } }
      : { retryConfig: { retries: 2 } }),
  });
}
