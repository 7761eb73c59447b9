/**
 * `npm run slack -- "/iam whoami" [--user U0123]`: sends a slash command to the bot that `npm run dev` runs, signed
 * as Slack signs it, and prints the answer. Offline, later answers (response_url, DMs) are printed by `npm run dev`.
 */
import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';

if (existsSync('.env')) process.loadEnvFile('.env');
const args = process.argv.slice(2);
const userFlag = args.indexOf('--user');
const user = userFlag >= 0 ? (args.splice(userFlag, 2)[1] ?? 'U0LOCALDEV') : 'U0LOCALDEV';
const line = args.join(' ').trim() || '/iam help';
const [command = '/iam', ...rest] = line.split(/\s+/);
const port = Number(process.env.PORT ?? 3000);
const secret = process.env.SLACK_SIGNING_SECRET || 'local-dev-signing-secret';

const body = new URLSearchParams({
  command,
  text: rest.join(' '),
  user_id: user,
  user_name: 'local-dev',
  team_id: 'T0LOCAL',
  channel_id: 'C0LOCAL',
  api_app_id: 'A0LOCAL',
  trigger_id: `${Date.now()}.local.trigger`,
  response_url: `http://127.0.0.1:${port + 1}/response/cli`,
}).toString();
const ts = Math.floor(Date.now() / 1000);
const signature = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;

const res = await fetch(`http://localhost:${port}/slack/events`, {
  method: 'POST',
  headers: {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(ts),
    'x-slack-signature': signature,
  },
  body,
});
const text = await res.text();
process.stdout.write(`${res.status} ${text}\n`);
process.exit(res.ok ? 0 : 1);
