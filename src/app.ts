import { App, AwsLambdaReceiver, type Receiver } from '@slack/bolt';
import type { Deps } from './deps.js';
import { bodyText, type HttpHandler, type HttpResult, header } from './http/types.js';
import { registerListeners } from './listeners/index.js';
import { boltLogger, logger } from './logger.js';

/**
 * Builds the Bolt app from injected dependencies and registers the listeners; no logic lives here.
 * Makes no Slack call at construction: `auth.test` runs lazily, and not at all when SLACK_BOT_ID and
 * SLACK_BOT_USER_ID are set.
 */
export function createSlackApp(deps: Deps, receiver?: Receiver): { app: App; receiver: Receiver } {
  const { env } = deps.config;
  const log = boltLogger();
  const rec = receiver ?? new AwsLambdaReceiver({ signingSecret: env.SLACK_SIGNING_SECRET, logger: log });
  const app = new App({
    token: env.SLACK_BOT_TOKEN,
    receiver: rec,
    logger: log,
    tokenVerificationEnabled: false,
    ...(env.SLACK_BOT_ID && env.SLACK_BOT_USER_ID ? { botId: env.SLACK_BOT_ID, botUserId: env.SLACK_BOT_USER_ID } : {}),
    // Bolt's own client (auth.test, the listeners' `client`): few retries, as src/slack/client.ts, since the
    // default (ten over about 30 minutes) would outlive Slack's 3 seconds and the function's timeout.
    clientOptions: { retryConfig: { retries: 2 }, ...(env.SLACK_API_URL ? { slackApiUrl: env.SLACK_API_URL } : {}) },
  });
  // The last resort for a listener that throws (every listener acks first and answers its own errors; what reaches
  // here is e.g. a response_url that refused the answer). Logged by name only, never the payload. Not rethrown: the
  // request was acked, and Slack gets that ack rather than a 500 that would show the click or command as failed.
  app.error(async (error) => {
    const original = (error as { original?: { name?: string; message?: string } }).original;
    logger.error('A Slack listener failed after its ack', {
      code: error.code,
      errorName: original?.name ?? error.name,
      errorMessage: (original?.message ?? error.message).slice(0, 200),
    });
  });
  registerListeners(app, deps);
  return { app, receiver: rec };
}

/**
 * The Slack Lambda handler: signature verification and routing by Bolt's AwsLambdaReceiver. Before Bolt sees the
 * event, the body is decoded from base64 as UTF-8 (Bolt decodes it as ASCII, which breaks signatures of non-ASCII
 * bodies) and the Content-Type loses its parameters (Bolt compares it exactly).
 */
export function createSlackHandler(deps: Deps): HttpHandler {
  const { receiver } = createSlackApp(deps);
  const inner = (receiver as AwsLambdaReceiver).toHandler();
  return async (event, context) => {
    const contentType = header(event, 'content-type')?.split(';')[0]?.trim();
    const headers = Object.fromEntries(
      Object.entries(event.headers ?? {}).filter(([k]) => k.toLowerCase() !== 'content-type'),
    );
    const normalized = {
      ...event,
      headers: { ...headers, ...(contentType ? { 'content-type': contentType } : {}) },
      body: bodyText(event),
      isBase64Encoded: false,
    };
    return (await inner(normalized as never, context)) as HttpResult;
  };
}
