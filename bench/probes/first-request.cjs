// Benchmark probe, run in a fresh `node` process by bench/sections/slack-cold.ts: a cold start as Lambda has it,
// module initialisation then the first request, each timed. `help` sends `/iam help` (needs no AWS); `click` sends
// an Approve click for a request that does not exist, which loads the store (dynamoose, the DynamoDB client, the
// models) and reads DynamoDB once (AWS_ENDPOINT_URL: the section's moto server); `approve` the same click by
// BENCH_USER_ID on the existing request BENCH_REQUEST_ID; `create-user` the inline `/iam create-user` given in
// BENCH_COMMAND_TEXT by BENCH_USER_ID, `command` any `/iam` command so given (bench/sections/calls-before-answer.ts
// counts the calls of those).
// Usage: node first-request.cjs <bundle.cjs> help|click|approve|create-user|command
//   ->   prints `BENCH_RESULT {"initMs": ..., "firstMs": ...}`.
'use strict';

const { createHmac } = require('node:crypto');

const [bundle, kind = 'help'] = process.argv.slice(2);
const secret = process.env.SLACK_SIGNING_SECRET ?? '';
// Where the bot's ephemeral reply goes: the section's Slack stand-in, else a closed port.
const responseUrl = process.env.BENCH_RESPONSE_URL ?? 'http://127.0.0.1:9/response/x';

function body() {
  if (kind === 'help' || kind === 'create-user' || kind === 'command') {
    return new URLSearchParams({
      command: '/iam',
      text: kind === 'help' ? 'help' : (process.env.BENCH_COMMAND_TEXT ?? ''),
      user_id: kind === 'help' ? 'U0REQUESTER' : (process.env.BENCH_USER_ID ?? 'U0REQUESTER'),
      channel_id: 'C0APPROVALS',
      team_id: 'T0TEAM',
      trigger_id: '1.2.abc',
      response_url: responseUrl,
      api_app_id: 'A0APP',
      token: 'x',
    }).toString();
  }
  const payload = {
    type: 'block_actions',
    user: { id: process.env.BENCH_USER_ID ?? 'U0APPROVER', username: 'approver', team_id: 'T0TEAM' },
    team: { id: 'T0TEAM', domain: 'example' },
    api_app_id: 'A0APP',
    token: 'x',
    trigger_id: '1.2.abc',
    response_url: responseUrl,
    container: { type: 'message', channel_id: 'C0APPROVALS', message_ts: '1700000000.000100' },
    channel: { id: 'C0APPROVALS', name: 'approvals' },
    message: { type: 'message', ts: '1700000000.000100', text: '', blocks: [] },
    actions: [
      {
        type: 'button',
        action_id: 'request_approve',
        block_id: 'request_actions_bench',
        value: kind === 'approve' ? process.env.BENCH_REQUEST_ID : 'bench-no-such-request',
        action_ts: '1700000000.000200',
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

function signedEvent(text) {
  const ts = String(Math.floor(Date.now() / 1000));
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${text}`).digest('hex')}`;
  return {
    version: '2.0',
    routeKey: 'POST /slack/events',
    rawPath: '/slack/events',
    rawQueryString: '',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': ts,
      'x-slack-signature': signature,
    },
    requestContext: {
      http: { method: 'POST', path: '/slack/events' },
      routeKey: 'POST /slack/events',
      stage: '$default',
    },
    body: text,
    isBase64Encoded: false,
  };
}

async function main() {
  const event = signedEvent(body());
  const started = process.hrtime.bigint();
  const { handler } = require(bundle);
  const loaded = process.hrtime.bigint();
  const result = await handler(event, {});
  const done = process.hrtime.bigint();
  if (result.statusCode !== 200) throw new Error(`unexpected answer ${result.statusCode}: ${String(result.body)}`);
  const initMs = Number(loaded - started) / 1e6;
  const firstMs = Number(done - loaded) / 1e6;
  process.stdout.write(
    `\nBENCH_RESULT ${JSON.stringify({ initMs, firstMs, body: String(result.body).slice(0, 200) })}\n`,
  );
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(1);
});
