/** Helpers for tests of one-time credential links: real IAM users in moto, deliveries, the link page's requests. */
import { createHash, randomBytes } from 'node:crypto';
import { CreateAccessKeyCommand, CreateLoginProfileCommand, CreateUserCommand } from '@aws-sdk/client-iam';
import type { HttpEvent, HttpResult } from '../../src/http/types.js';
import type { CredentialBundle, DeliveryRequest } from '../../src/services/credential-types.js';
import { deliverCredentials } from '../../src/services/credentials.js';
import type { TestBot } from './bot.js';

/** moto's default account. */
export const ACCOUNT_ID = '123456789012';

let seq = 0;

/** Creates an IAM user in moto with an access key (moto makes the key), and optionally a console password. */
export async function createUserWithCredentials(
  bot: TestBot,
  options: { userName?: string; console?: boolean } = {},
): Promise<CredentialBundle> {
  const userName = options.userName ?? `link-test-user-${++seq}`;
  const iam = bot.deps.aws.account().iam;
  await iam.send(new CreateUserCommand({ UserName: userName, Path: '/iam-slack-bot/' }));
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey;
  if (!key?.AccessKeyId || !key.SecretAccessKey) throw new Error('moto created no access key');
  const bundle: CredentialBundle = {
    accountId: ACCOUNT_ID,
    region: 'us-east-1',
    userName,
    accessKey: { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey },
  };
  if (options.console) {
    // Random at run time, obviously a test value; recorded by the leak check when sent to IAM.
    const password = `test-only-${randomBytes(9).toString('base64url')}`;
    await iam.send(
      new CreateLoginProfileCommand({ UserName: userName, Password: password, PasswordResetRequired: true }),
    );
    bundle.console = { password, signInUrl: `https://${ACCOUNT_ID}.signin.aws.amazon.com/console` };
  }
  return bundle;
}

/** A delivery of `bundle` to U0RECIPIENT, requested by U0REQUESTER and approved by U0APPROVER1. */
export function deliveryOf(bundle: CredentialBundle, overrides: Partial<DeliveryRequest> = {}): DeliveryRequest {
  const n = ++seq;
  return {
    deliveryKey: `test-delivery-${n}`,
    requestId: `req-test-${n}`,
    recipientSlackId: 'U0RECIPIENT',
    requesterSlackId: 'U0REQUESTER',
    approverSlackIds: ['U0APPROVER1'],
    account: 'home',
    purpose: `New IAM user ${bundle.userName} (access key)`,
    bundle,
    ...overrides,
  };
}

/** Delivers a fresh user's credentials and returns everything a test needs about the link. */
export async function deliveredLink(bot: TestBot, options: { console?: boolean; recipient?: string } = {}) {
  const bundle = await createUserWithCredentials(bot, options);
  const request = deliveryOf(bundle, options.recipient ? { recipientSlackId: options.recipient } : {});
  const result = await bot.as('worker', () => deliverCredentials(bot.deps, request));
  const { token, url } = linkSentTo(bot, request.recipientSlackId);
  const link = await bot.deps.store.links.get(createHash('sha256').update(token).digest('hex'));
  if (!link) throw new Error('no link record');
  return { bundle, request, result, token, url, link };
}

/** The one-time link in the newest DM the bot posted to `userId` (from the recording Slack API). */
export function linkSentTo(bot: TestBot, userId = 'U0RECIPIENT'): { url: string; token: string } {
  const posts = bot.slack.postsTo(userId);
  for (const post of posts.reverse()) {
    const m = /(https?:\/\/[^"\s|>]+\/credentials\/([A-Za-z0-9_-]+))/.exec(JSON.stringify(post.args));
    if (m?.[1] && m[2]) return { url: m[1], token: m[2] };
  }
  throw new Error(`no credential link was sent to ${userId}`);
}

/** An API Gateway HTTP API (2.0) event for the credential page. */
export function pageEvent(
  method: 'GET' | 'HEAD' | 'POST' | 'PUT',
  token: string,
  options: { userAgent?: string; sourceIp?: string } = {},
): HttpEvent {
  const path = `/credentials/${token}`;
  const userAgent = options.userAgent ?? 'Mozilla/5.0 (X11; Linux x86_64) test-browser';
  return {
    version: '2.0',
    routeKey: `${method} /credentials/{token}`,
    rawPath: path,
    rawQueryString: '',
    headers: {
      'user-agent': userAgent,
      ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
    },
    pathParameters: { token },
    requestContext: {
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: options.sourceIp ?? '192.0.2.10', userAgent },
      requestId: 'test',
      routeKey: `${method} /credentials/{token}`,
      stage: '$default',
      timeEpoch: 0,
    },
    isBase64Encoded: false,
  } as unknown as HttpEvent;
}

/** Sends a request to the credential page handler exactly as Lambda would. */
export function requestPage(
  bot: TestBot,
  method: 'GET' | 'HEAD' | 'POST' | 'PUT',
  token: string,
  options: { userAgent?: string; sourceIp?: string } = {},
): Promise<HttpResult> {
  return bot.webHandler(pageEvent(method, token, options));
}

/** A "This wasn't me" click, as Slack sends it. */
export function notMeClick(linkId: string, userId: string, responseUrl: string) {
  return {
    type: 'block_actions',
    team: { id: 'T0TEAM', domain: 'example' },
    user: { id: userId, username: userId.toLowerCase(), name: userId.toLowerCase(), team_id: 'T0TEAM' },
    api_app_id: 'A0APP',
    token: 'legacy-verification-token',
    container: { type: 'message', message_ts: '1700000001.000100', channel_id: 'D0RECIPIENT', is_ephemeral: false },
    trigger_id: `${Date.now()}.trigger`,
    channel: { id: 'D0RECIPIENT', name: 'directmessage' },
    response_url: responseUrl,
    actions: [
      {
        type: 'button',
        action_id: 'credential_not_me',
        block_id: 'not_me',
        value: linkId,
        text: { type: 'plain_text', text: "This wasn't me" },
        action_ts: `1700000000.${String(++seq).padStart(6, '0')}`,
      },
    ],
  };
}
