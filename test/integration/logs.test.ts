/**
 * Structured logs: during a create-user flow (form, approval, provisioning, credential delivery) every line the bot
 * logs is one JSON object that says what it is about: the Slack user and the action of the request it serves, the
 * job's id and type in the worker, the request id where the work concerns a request, and how each unit ended. No
 * credential appears in any line: the shared leak check (test/support/leaks.ts) scans every captured line after
 * this file, the revealed secret included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBot, type TestBot } from '../support/bot.js';
import { click, requestUser } from '../support/create-user.js';
import { linkSentTo, requestPage } from '../support/credentials.js';
import { recordSecret } from '../support/leaks.js';

let bot: TestBot;
let lines: Record<string, unknown>[];
let requestId: string;
const captured = () => (globalThis as { __capturedOutput?: string[] }).__capturedOutput ?? [];

beforeAll(async () => {
  bot = await startTestBot();
  const from = captured().length;
  const request = await requestUser(bot, 'logged-bot');
  requestId = request.id;
  await click(bot, request, 'U0REQUESTER'); // refused: nobody approves their own request
  await click(bot, request, 'U0APPROVER1');
  await bot.drain();
  const { token } = linkSentTo(bot);
  await requestPage(bot, 'GET', token);
  const revealed = await requestPage(bot, 'POST', token);
  recordSecret(/aws_secret_access_key\s*=\s*([A-Za-z0-9/+]{40})/.exec(String(revealed.body))?.[1], 'revealed');
  await bot.schedule();
  await bot.drain(); // the projection refresh parts it hands the worker
  lines = captured()
    .slice(from)
    .join('')
    .split('\n')
    .filter((l) => l.includes('"service":"iam-slack-bot'))
    .map((l) => JSON.parse(l.slice(l.indexOf('{'))) as Record<string, unknown>);
});
afterAll(async () => {
  await bot.stop();
});

describe('log lines of a create-user flow', () => {
  it('are JSON, each naming its action', () => {
    expect(lines.length).toBeGreaterThan(5);
    expect(lines.filter((l) => !l.action).map((l) => l.message)).toEqual([]);
  });

  it('name the Slack user and the request of each Slack request, and end with its outcome', () => {
    const slack = lines.filter(
      (l) => !l.jobId && !l.task && l.action !== 'schedule' && !String(l.action).startsWith('credential-page:'),
    );
    const submit = slack.filter((l) => l.action === 'create_user_modal');
    const approve = slack.filter((l) => l.action === 'request_approve');

    expect(submit.at(-1)).toMatchObject({ slackUser: 'U0REQUESTER', message: 'Slack request handled', outcome: 'ok' });
    expect(approve.at(-1)).toMatchObject({
      slackUser: 'U0APPROVER1',
      requestId,
      message: 'Slack request handled',
      outcome: 'ok',
    });
    expect(slack.filter((l) => !l.slackUser)).toEqual([]);
  });

  it('end a refused click with outcome refused, not ok', () => {
    const refused = lines.filter((l) => l.action === 'request_approve' && l.slackUser === 'U0REQUESTER');

    expect(refused.at(-1)).toMatchObject({ requestId, message: 'Slack request handled', outcome: 'refused' });
  });

  it('name the credential page’s requests (never the link’s token), and end with the status code', () => {
    const page = lines.filter((l) => String(l.action).startsWith('credential-page:'));

    expect(page.filter((l) => l.message === 'Credential page answered').map((l) => [l.action, l.outcome])).toEqual([
      ['credential-page:GET', '200'],
      ['credential-page:POST', '200'],
    ]);
    expect(JSON.stringify(page)).not.toContain(linkSentTo(bot).token);
  });

  it('name the job, its type and its request in the worker, and end with its outcome', () => {
    const jobs = lines.filter((l) => l.jobId);
    const provision = jobs.filter((l) => l.jobType === 'provision');

    // publish-home: the approvers' and the new owner's App Home, refreshed after the post and the provisioning;
    // refresh-projection: the part of the projection refresh the schedule hands the worker
    expect(new Set(jobs.map((l) => l.jobType))).toEqual(
      new Set(['publish-request', 'provision', 'publish-home', 'refresh-projection']),
    );
    for (const l of jobs) expect(l.action).toBe(`job:${l.jobType}`);
    expect(provision.every((l) => l.requestId === requestId)).toBe(true);
    expect(provision.at(-1)).toMatchObject({ message: 'Job done', outcome: 'done' });
  });

  it('name the task of each scheduled run, with its outcome', () => {
    // the schedule's own lines (in-process, a job it hands the worker inherits its log keys; on Lambda it does not)
    const tasks = lines.filter((l) => l.task && !l.jobId);

    expect(tasks.length).toBeGreaterThan(0);
    for (const l of tasks) expect(l).toMatchObject({ action: `schedule:${l.task}`, outcome: 'done' });
  });
});
