import { App, type Authorize, AwsLambdaReceiver, type Receiver } from '@slack/bolt';
import { WebClient, type WebClientOptions } from '@slack/web-api';
import type { Deps } from './deps.js';
import { bodyText, type HttpHandler, type HttpResult, header } from './http/types.js';
import { registerListeners } from './listeners/index.js';
import { boltLogger, currentLogKeys, type LogKeys, logger, withLogKeys } from './logger.js';

/**
 * Bolt's `authorize` for the one workspace the bot serves: the bot token with its bot and user ids, from SLACK_BOT_ID
 * and SLACK_BOT_USER_ID when set, else from ONE `auth.test` per warm container, kept (a failed call is not kept: the
 * next request asks again). Bolt 5.1's own single-workspace authorize (singleAuthorization, with `token` given and
 * no ids) calls auth.test before every request, and with the Slack function's client failing a 429 at once, a
 * rate-limited auth.test lost the request (issue 19).
 */
export function onceAuthorize(
  env: Pick<Deps['config']['env'], 'SLACK_BOT_TOKEN' | 'SLACK_BOT_ID' | 'SLACK_BOT_USER_ID'>,
  clientOptions: WebClientOptions,
): Authorize<boolean> {
  const botToken = env.SLACK_BOT_TOKEN;
  let ids: Promise<{ botId?: string; botUserId?: string }> | undefined =
    env.SLACK_BOT_ID && env.SLACK_BOT_USER_ID
      ? Promise.resolve({ botId: env.SLACK_BOT_ID, botUserId: env.SLACK_BOT_USER_ID })
      : undefined;
  return async () => {
    ids ??= new WebClient(botToken, clientOptions).auth.test().then(
      (answer) => ({
        ...(answer.bot_id ? { botId: answer.bot_id } : {}),
        ...(answer.user_id ? { botUserId: answer.user_id } : {}),
      }),
      (error: unknown) => {
        ids = undefined;
        throw new Error('auth.test failed; the next request asks again', { cause: error });
      },
    );
    return { botToken, ...(await ids) };
  };
}

/**
 * Builds the Bolt app from injected dependencies and registers the listeners; no logic lives here.
 * Makes no Slack call at construction: `auth.test` runs on the first request of a container, once (onceAuthorize),
 * and not at all when SLACK_BOT_ID and SLACK_BOT_USER_ID are set.
 */
export function createSlackApp(deps: Deps, receiver?: Receiver): { app: App; receiver: Receiver } {
  const { env } = deps.config;
  const log = boltLogger();
  const rec = receiver ?? new AwsLambdaReceiver({ signingSecret: env.SLACK_SIGNING_SECRET, logger: log });
  // Bolt's own client (auth.test, the listeners' `client`): its calls are inside Slack's 3 seconds (Bolt on Lambda
  // answers once the listener ends), so it never sleeps out a 429 and retries once, quickly (src/slack/client.ts,
  // `answering`); the default (ten retries over about 30 minutes) would outlive both.
  const clientOptions = {
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 1, factor: 1, minTimeout: 100, maxTimeout: 100 },
    ...(env.SLACK_API_URL ? { slackApiUrl: env.SLACK_API_URL } : {}),
  };
  const app = new App({
    receiver: rec,
    logger: log,
    authorize: onceAuthorize(env, clientOptions),
    clientOptions,
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
  // Every log line of a Slack request carries who asked, for what, and the request id when it is about one; its
  // last line says how it ended.
  app.use(async ({ body, next }) => {
    await withLogKeys(slackLogKeys(body as SlackBody), async () => {
      try {
        await next();
        // a listener that answered a refusal or an error says so (appendLogKeys); otherwise it went through
        logger.info('Slack request handled', { outcome: currentLogKeys().outcome ?? 'ok' });
      } catch (error) {
        logger.error('Slack request failed', { outcome: 'failed', errorName: (error as Error)?.name });
        throw error;
      }
    });
  });
  registerListeners(app, deps);
  return { app, receiver: rec };
}

interface SlackBody {
  command?: string;
  text?: string;
  user_id?: string;
  type?: string;
  user?: { id?: string };
  actions?: { action_id?: string; value?: string }[];
  view?: { callback_id?: string; private_metadata?: string };
  /** `user` is an id in most events, but the member's whole profile in `user_change` (never logged). */
  event?: { type?: string; user?: string | { id?: string } };
}

const REQUEST_ID = /\breq-[A-Za-z0-9]{1,40}\b/;

/** The log keys of one Slack request: ids and names from its envelope, never what a form holds. */
export function slackLogKeys(body: SlackBody): LogKeys {
  if (body.command) {
    const sub = /^\s*(\S*)/.exec(body.text ?? '')?.[1] || 'help';
    return {
      slackUser: body.user_id,
      action: `${body.command} ${sub.slice(0, 40)}`,
      requestId: REQUEST_ID.exec(body.text ?? '')?.[0],
    };
  }
  if (body.type === 'block_actions') {
    const action = body.actions?.[0];
    return {
      slackUser: body.user?.id,
      action: action?.action_id,
      requestId: REQUEST_ID.exec(action?.value ?? '')?.[0],
    };
  }
  if (body.type === 'view_submission' || body.type === 'view_closed')
    return {
      slackUser: body.user?.id,
      action: body.view?.callback_id,
      requestId: REQUEST_ID.exec(body.view?.private_metadata ?? '')?.[0],
    };
  if (body.event) {
    // user_change carries the member's profile (name, title, phone, status) as `user`: log its id only.
    const user = body.event.user;
    return { slackUser: typeof user === 'string' ? user : user?.id, action: `event:${body.event.type}` };
  }
  return { action: body.type };
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
    return withLogKeys(
      { invocationId: (context as { awsRequestId?: string } | undefined)?.awsRequestId },
      async () => (await inner(normalized as never, context)) as HttpResult,
    );
  };
}
