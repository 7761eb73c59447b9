import { WebClient } from '@slack/web-api';
import type { Env } from '../config.js';

/** The Slack Web API client, pointed at SLACK_API_URL when set (tests, local Slack-compatible servers). */
export function slackWebClient(env: Pick<Env, 'SLACK_BOT_TOKEN' | 'SLACK_API_URL'>): WebClient {
  return new WebClient(env.SLACK_BOT_TOKEN, {
    ...(env.SLACK_API_URL ? { slackApiUrl: env.SLACK_API_URL } : {}),
    retryConfig: { retries: 2 },
  });
}
