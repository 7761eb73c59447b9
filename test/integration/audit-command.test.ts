/** `/iam audit [iam-user | @someone | request-id]`: approvers read the audit trail, newest first, paged. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLine } from '../../src/blocks/audit.js';
import { AUDIT_MORE } from '../../src/blocks/ids.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { click, requestUser } from '../support/create-user.js';

let bot: TestBot;
let request: AccessRequest;

beforeAll(async () => {
  bot = await startTestBot();
  request = await requestUser(bot, 'audited-bot');
  await click(bot, request, 'U0APPROVER1');
  await bot.drain();
  // 25 events of one busy approver, one a minute: more than a page
  for (let i = 0; i < 25; i++) {
    bot.clock.advance(60_000);
    await bot.deps.store.audit.record({
      subject: `request#req-busy${i}`,
      at: bot.clock.now(),
      actor: 'U0BUSY',
      action: 'approved',
      detail: { n: i },
    });
  }
});
afterAll(async () => {
  await bot.stop();
});

interface Answer {
  text: string;
  blocks?: { type: string; text?: { text: string }; elements?: { action_id?: string; value?: string }[] }[];
}
const answer = async (text: string, userId = 'U0APPROVER2') =>
  JSON.parse((await bot.command(text, userId)).result.body ?? '{}') as Answer;
const textOf = (a: Answer) =>
  (a.blocks ?? [])
    .filter((b) => b.type === 'section')
    .map((b) => b.text?.text ?? '')
    .join('\n');
const moreButton = (a: Answer) =>
  (a.blocks ?? []).flatMap((b) => b.elements ?? []).find((e) => e.action_id === AUDIT_MORE);

describe('/iam audit', () => {
  it('shows a request’s events, newest first', async () => {
    const events = await bot.deps.store.audit.list(`request#${request.id}`);
    const a = await answer(`audit ${request.id}`);

    expect(events.length).toBeGreaterThan(3);
    expect(textOf(a)).toContain(`*Audit trail of request ${request.id}*, newest first (page 1)`);
    expect(textOf(a).split('\n').slice(1)).toEqual([...events].reverse().map(auditLine));
    expect(moreButton(a)).toBeUndefined();
  });

  it('shows what someone did, from a mention', async () => {
    const a = await answer('audit <@U0APPROVER1|approver1>');
    const lines = textOf(a).split('\n').slice(1);

    expect(textOf(a)).toContain('*What &lt;@U0APPROVER1&gt; did*');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.includes('<@U0APPROVER1>'))).toBe(true);
    expect(lines.some((l) => l.includes(`request#${request.id}`))).toBe(true);
  });

  it('shows the events of the requests that changed an IAM user', async () => {
    const a = await answer('audit audited-bot');
    const events = await bot.deps.store.audit.list(`request#${request.id}`);

    expect(textOf(a)).toContain('*Audit trail of IAM user audited-bot (home)*');
    expect(textOf(a).split('\n').slice(1)).toEqual([...events].reverse().map(auditLine));
    expect((await answer('audit no-such-bot')).text).toBe('I know no IAM user `no-such-bot` in *home*.');
  });

  it('pages: 20 events, then More (or --page 2) shows the rest in place', async () => {
    const first = await answer('audit <@U0BUSY>');
    const more = moreButton(first);
    const lines = textOf(first).split('\n').slice(1);

    expect(lines).toHaveLength(20);
    expect(lines[0]).toContain('`request#req-busy24`'); // newest first
    expect(more?.value).toBe('<@U0BUSY> --page 2');

    const { responseId } = await bot.clickButton({
      userId: 'U0APPROVER2',
      actionId: AUDIT_MORE,
      value: more?.value ?? '',
    });
    const [second] = bot.slack.callsOf('response_url').filter((c) => c.args.response_id === responseId);
    const secondLines = String((second?.args.blocks as { text?: { text: string } }[])?.[0]?.text?.text)
      .split('\n')
      .slice(1);

    expect(second?.args.replace_original).toBe(true);
    expect(secondLines).toHaveLength(5);
    expect(secondLines.at(-1)).toContain('`request#req-busy0`');
    expect(JSON.stringify(second?.args.blocks)).not.toContain(AUDIT_MORE);
    expect(textOf(await answer('audit <@U0BUSY> --page 2'))).toBe(second ? textOf(second.args as never) : '');
  });

  it('is for approvers only, the More button too, and answers what it does not understand with the usage', async () => {
    const { responseId } = await bot.clickButton({
      userId: 'U0REQUESTER',
      actionId: AUDIT_MORE,
      value: '<@U0BUSY> --page 2',
    });

    expect((await answer(`audit ${request.id}`, 'U0REQUESTER')).text).toBe('Only approvers can read the audit trail.');
    expect(
      bot.slack
        .callsOf('response_url')
        .filter((c) => c.args.response_id === responseId)
        .map((c) => c.args.text),
    ).toEqual(['Only approvers can read the audit trail.']);
    const usage = 'Usage: `/iam audit <iam-user [--account name] | @someone | request-id> [--page n]`';
    expect((await answer('audit')).text).toBe(usage);
    expect((await answer('audit a b')).text).toBe(usage);
    expect((await answer('audit x --account nowhere')).text).toBe(usage);
  });
});
