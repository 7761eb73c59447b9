import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevBot } from '../../src/local/dev-bot.js';
import { shell, startDev } from '../support/dev-bot.js';

let bot: DevBot;
let port: number;
beforeAll(async () => {
  ({ bot, port } = await startDev());
});
afterAll(async () => {
  await bot?.stop();
});

const readme = readFileSync('README.md', 'utf8');
/** Every `npm run slack -- ...` line of the README's shell blocks, as written. */
const slackLines = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)]
  .flatMap((m) => (m[1] ?? '').split('\n'))
  .filter((l) => l.startsWith('npm run slack -- '));
/** The inline create-user of the commands table, as typed in Slack. */
const tableExample = /takes it inline: `(\/iam create-user [^`]+)`/.exec(readme)?.[1] ?? '';

describe("the README's examples, run as written against npm run dev with the shipped policy.yml", () => {
  it('has the quick-start examples to run: whoami and an inline create-user', () => {
    expect(slackLines).toContain('npm run slack -- "/iam whoami"');
    expect(slackLines.some((l) => l.includes('/iam create-user'))).toBe(true);
  });

  it('has the schedule examples to run: the daily tasks some days on, and a leaver', () => {
    expect(slackLines.some((l) => /--daily --days-ahead \d+$/.test(l))).toBe(true);
    expect(slackLines.some((l) => /--leave U0\w+$/.test(l))).toBe(true);
  });

  it.each(slackLines)('%s', async (line) => {
    const out = await shell(port, line);

    if (line.includes('whoami')) expect(out).toMatch(/\*staging\*: account `000000000000`/);
    else if (line.includes('--daily'))
      expect(out).toMatch(/Ran the daily tasks[^\n]*:\n {2}reconcile-owners: .*\n {2}key-scan: /);
    else if (line.includes('--leave'))
      expect(out).toMatch(/U0\w+ is deactivated in Slack; the bot got the user_change event/);
    else expect(out).toContain('is waiting for approval');
    expect(out).not.toMatch(/Opening the form|I can't|Unknown option|needs a Slack mention/);
  });

  it('the inline create-user of the commands table, typed in Slack (@alice picked as a mention), is sent for approval as it is', async () => {
    const typed = tableExample.replace('@alice', '@U0ALICE');
    const from = bot.standIn?.messages.length ?? 0;
    await bot.standIn?.command('U0REQUESTER', 'C0GENERAL', typed);
    await fetch(`http://127.0.0.1:${port + 1}/local/settle`); // the worker posts it, then answers the command
    const answers = (bot.standIn?.messages ?? []).slice(from).filter((m) => m.to === 'U0REQUESTER' && !m.from);

    expect(tableExample).toContain('--for @alice');
    expect(answers.map((m) => m.text).join('\n')).toContain('is waiting for approval');
  });
});
