/**
 * `npm run slack -- "/iam whoami" [--user U0123]`: sends a slash command to the bot that `npm run dev` runs, as Slack
 * sends it (signed; `@U0123` turned into the mention Slack sends), and prints the answer: the ack, then, offline,
 * what the bot posted because of it (its response_url answer, messages, forms) once its jobs are done.
 *
 * Offline only: `npm run slack -- --hours-ahead N` runs the one-minute tasks with the dev clock moved N hours on (a
 * temporary membership's notice before its end, its end), `npm run slack -- --daily [--days-ahead N]` runs the daily
 * scheduled tasks now (the dev clock moved N
 * days from today), and `npm run slack -- --leave U0123` deactivates a member as Slack does (users.info says so, a
 * signed `user_change` event); both print what the bot posted because of it.
 */
import { existsSync } from 'node:fs';
import type { RecordedCall } from './fake-slack.js';
import { blocksAsText, postSigned, slackCommandText } from './slack-wire.js';

if (existsSync('.env')) process.loadEnvFile('.env');
const args = process.argv.slice(2);
const userFlag = args.indexOf('--user');
const user = userFlag >= 0 ? (args.splice(userFlag, 2)[1] ?? 'U0REQUESTER') : 'U0REQUESTER';
const line = args.join(' ').trim() || '/iam help';
const [command = '/iam'] = line.split(/\s+/);
const text = line.slice(command.length).trim();
const port = Number(process.env.PORT ?? 3000);
const secret = process.env.SLACK_SIGNING_SECRET || 'local-dev-signing-secret';
const standIn = `http://127.0.0.1:${port + 1}`;
const responseId = `cli-${Date.now()}`;
const print = (s: string) => process.stdout.write(`${s}\n`);

/** How many Slack calls the offline stand-in has seen; undefined when the bot talks to the real Slack. */
async function callCount(): Promise<number | undefined> {
  try {
    const res = await fetch(`${standIn}/local/calls`);
    return res.ok ? ((await res.json()) as { count: number }).count : undefined;
  } catch {
    return undefined;
  }
}

function describe(call: RecordedCall): string | undefined {
  const a = call.args as Record<string, unknown>;
  const body = blocksAsText(a);
  switch (call.method) {
    case 'response_url':
      return a.response_id === responseId ? `Answer (only you see it):\n${body}` : undefined;
    case 'chat.postMessage':
      return `Posted in ${String(a.channel)}:\n${body}`;
    case 'chat.update':
      return `Updated a message in ${String(a.channel)}:\n${body}`;
    case 'chat.postEphemeral':
      return `Ephemeral for ${String(a.user)} in ${String(a.channel)}:\n${body}`;
    case 'views.open': {
      const view = a.view as { title?: { text?: string } } | undefined;
      return `Opened the form "${view?.title?.text ?? ''}" (fill it in the browser stand-in: see npm run dev).`;
    }
    default:
      return undefined;
  }
}

/** `--daily` / `--leave`: asks the stand-in of `npm run dev` (offline only), then prints the messages caused. */
async function standInCommand(path: string, input: Record<string, unknown>): Promise<never> {
  let res: Response;
  try {
    res = await fetch(`${standIn}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(input),
    });
  } catch (error) {
    print(
      `Nothing answers on ${standIn}: start the bot offline with \`npm run dev\` first (without Slack credentials: --daily and --leave play Slack's side) (${(error as Error).message}).`,
    );
    process.exit(1);
  }
  const out = (await res.json()) as {
    error?: string;
    status?: number;
    daysAhead?: number;
    hoursAhead?: number;
    results?: Record<string, Record<string, number> | { error: string }>;
    calls?: RecordedCall[];
  };
  if (!res.ok) {
    print(`The stand-in answered HTTP ${res.status}: ${out.error ?? ''}`);
    process.exit(1);
  }
  if (out.results) {
    print(
      out.hoursAhead !== undefined
        ? `Ran the one-minute tasks${out.hoursAhead ? ` (the dev clock moved ${out.hoursAhead} hours)` : ''}:`
        : `Ran the daily tasks${out.daysAhead ? ` (the dev clock is ${out.daysAhead} days ahead)` : ''}:`,
    );
    for (const [name, r] of Object.entries(out.results))
      print(
        `  ${name}: ${
          'error' in r
            ? `failed (${String(r.error)})`
            : Object.entries(r)
                .map(([k, n]) => `${k} ${n}`)
                .join(', ') || 'nothing to do'
        }`,
      );
  }
  if (out.status !== undefined) {
    if (out.status !== 200) {
      print(`The bot answered the user_change event with HTTP ${out.status}`);
      process.exit(1);
    }
    print(`${String(input.user)} is deactivated in Slack; the bot got the user_change event.`);
  }
  for (const call of out.calls ?? []) {
    const shown = describe(call);
    if (shown) print(`\n${shown}`);
  }
  process.exit(0);
}

const daily = args.indexOf('--daily');
if (daily >= 0) {
  const days = args.indexOf('--days-ahead');
  const daysAhead = days >= 0 ? Number(args[days + 1]) : undefined;
  if (daysAhead !== undefined && !(daysAhead >= 0)) {
    print('--days-ahead needs a number of days >= 0');
    process.exit(1);
  }
  await standInCommand('/stand-in/daily', daysAhead === undefined ? {} : { daysAhead });
}
const minute = args.indexOf('--hours-ahead');
if (minute >= 0 && daily < 0) {
  const hoursAhead = Number(args[minute + 1]);
  if (!(hoursAhead >= 0)) {
    print('--hours-ahead needs a number of hours >= 0');
    process.exit(1);
  }
  await standInCommand('/stand-in/minute', { hoursAhead });
}
const leave = args.indexOf('--leave');
if (leave >= 0) {
  const member = args[leave + 1] ?? '';
  if (!/^[UW][A-Z0-9]{2,}$/.test(member)) {
    print('--leave needs a Slack user id, e.g. --leave U0RECIPIENT');
    process.exit(1);
  }
  await standInCommand('/stand-in/leave', { user: member });
}

const before = await callCount();
const body = new URLSearchParams({
  token: 'local-verification-token',
  command,
  text: slackCommandText(text),
  user_id: user,
  user_name: user.toLowerCase(),
  team_id: 'T0LOCAL',
  channel_id: 'C0GENERAL',
  channel_name: 'general',
  api_app_id: 'A0LOCAL',
  trigger_id: `${Date.now()}.local.trigger`,
  response_url: `${standIn}/response/${responseId}`,
}).toString();
let answer: { status: number; text: string };
try {
  answer = await postSigned(`http://localhost:${port}/slack/events`, secret, body);
} catch (error) {
  print(
    `Nothing answers on http://localhost:${port}: start the bot with \`npm run dev\` first (${(error as Error).message}).`,
  );
  process.exit(1);
}
if (answer.status !== 200) {
  print(`The bot answered HTTP ${answer.status} ${answer.text}`);
  process.exit(1);
}
let ack: Record<string, unknown> = {};
try {
  ack = answer.text.trim() ? (JSON.parse(answer.text) as Record<string, unknown>) : {};
} catch {
  ack = { text: answer.text };
}
if (ack.text || ack.blocks) print(blocksAsText(ack));
if (before !== undefined) {
  const res = await fetch(`${standIn}/local/settle?after=${before}`);
  const { calls } = (await res.json()) as { calls: RecordedCall[] };
  for (const call of calls) {
    const shown = describe(call);
    if (shown) print(`\n${shown}`);
  }
}
process.exit(0);
