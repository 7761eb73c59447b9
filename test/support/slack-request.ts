import { createHmac } from 'node:crypto';
import type { HttpEvent } from '../../src/http/types.js';

export interface SignOptions {
  secret: string;
  /** Seconds since the epoch; default now. */
  timestamp?: number;
  contentType?: string;
  /** Use this signature instead of computing one. */
  signature?: string | null;
}

/** Signs a body as Slack does: v0=HMAC_SHA256(secret, "v0:" + ts + ":" + body). */
export function slackSignature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/** An API Gateway HTTP API (2.0) event for `POST /slack/events`, signed as Slack signs it. */
export function signedEvent(body: string, options: SignOptions): HttpEvent {
  const ts = options.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'content-type': options.contentType ?? 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(ts),
    'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
  };
  const signature = options.signature === undefined ? slackSignature(options.secret, ts, body) : options.signature;
  if (signature !== null) headers['x-slack-signature'] = signature;
  return {
    version: '2.0',
    routeKey: 'POST /slack/events',
    rawPath: '/slack/events',
    rawQueryString: '',
    headers,
    requestContext: {
      http: {
        method: 'POST',
        path: '/slack/events',
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: headers['user-agent'],
      },
      requestId: 'test',
      routeKey: 'POST /slack/events',
      stage: '$default',
      timeEpoch: ts * 1000,
    },
    body,
    isBase64Encoded: false,
  } as unknown as HttpEvent;
}

let triggerSeq = 0;

/** The form body of a slash command invocation. */
export function commandBody(fields: {
  text: string;
  userId: string;
  responseUrl: string;
  command?: string;
  channelId?: string;
}): string {
  triggerSeq += 1;
  return new URLSearchParams({
    token: 'legacy-verification-token',
    team_id: 'T0TEAM',
    team_domain: 'example',
    channel_id: fields.channelId ?? 'C0GENERAL',
    channel_name: 'general',
    user_id: fields.userId,
    user_name: fields.userId.toLowerCase(),
    command: fields.command ?? '/iam',
    text: fields.text,
    api_app_id: 'A0APP',
    is_enterprise_install: 'false',
    response_url: fields.responseUrl,
    trigger_id: `${triggerSeq}.${Date.now()}.trigger`,
  }).toString();
}

/** The form body of an interactivity payload (block_actions, view_submission, ...). */
export function interactionBody(payload: Record<string, unknown>): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}
