// Benchmark probe, run in a fresh `node` process by bench/sections/slack-latency.ts: sends signed `/iam help` slash
// commands (API Gateway HTTP API 2.0 events) through a bundled Slack handler, one at a time, after a warm-up, and
// reports how long each took.
// Usage: node help-latency.cjs <bundle.cjs> <warmup> <count>   ->   prints `BENCH_RESULT {"ms": [...]}` last.
'use strict';

const { createHmac } = require('node:crypto');

const [bundle, warmup = '20', count = '300'] = process.argv.slice(2);
const secret = process.env.SLACK_SIGNING_SECRET ?? '';

const body = new URLSearchParams({
  command: '/iam',
  text: 'help',
  user_id: 'U0REQUESTER',
  channel_id: 'C0APPROVALS',
  team_id: 'T0TEAM',
  trigger_id: '1.2.abc',
  response_url: 'http://127.0.0.1:9/response/x',
  api_app_id: 'A0APP',
  token: 'x',
}).toString();

/** A fresh, correctly signed event (Slack refuses timestamps older than five minutes). */
function signedEvent() {
  const ts = String(Math.floor(Date.now() / 1000));
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
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
    body,
    isBase64Encoded: false,
  };
}

async function main() {
  const { handler } = require(bundle);
  const send = async () => {
    const event = signedEvent();
    const started = process.hrtime.bigint();
    const result = await handler(event, {});
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (result.statusCode !== 200 || !String(result.body).includes('/iam help')) {
      throw new Error(`unexpected answer ${result.statusCode}: ${String(result.body).slice(0, 200)}`);
    }
    return ms;
  };
  for (let i = 0; i < Number(warmup); i++) await send();
  const ms = [];
  for (let i = 0; i < Number(count); i++) ms.push(await send());
  process.stdout.write(`\nBENCH_RESULT ${JSON.stringify({ ms })}\n`);
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(1);
});
