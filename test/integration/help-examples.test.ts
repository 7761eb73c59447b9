/**
 * The examples `/iam help` shows work as written with the shipped policy.yml: each is sent as Slack sends it (the
 * command escapes @mentions: `@alice` arrives as `<@U…|alice>`), approved by an approver that policy names, and done.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import { subcommands } from '../../src/listeners/commands/index.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { click, shownText } from '../support/create-user.js';

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot({ policy: parse(readFileSync('policy.yml', 'utf8')) });
});
afterAll(async () => {
  await bot.stop();
});

const PEOPLE: Record<string, string> = { alice: 'U0ALICE', bob: 'U0BOB' };
const asSlackSends = (example: string) =>
  example.replace(/^\/iam /, '').replace(/@(\w+)/g, (_, name: string) => `<@${PEOPLE[name] ?? 'U0SOMEONE'}|${name}>`);

it('runs every example that asks for a change, in the order help lists them, each approved and done', async () => {
  // offboard: approvers only, and about a person (test/integration/leavers.test.ts runs it through approval);
  // delete-user: asked by the user's owner, and last (the looking examples read the user it disables: see the end)
  const changing = subcommands.filter(
    (s) =>
      !['help', 'whoami', 'reissue', 'users', 'user', 'offboard', 'jobs', 'audit', 'report', 'delete-user'].includes(
        s.name,
      ),
  );
  expect(changing.map((s) => s.name)).toEqual([
    'create-user',
    'add-to-group',
    'remove-from-group',
    'set-owner',
    'rotate-key',
  ]);

  for (const sub of changing) {
    const before = new Set((await bot.deps.store.requests.model.scan().exec()).map((r) => r.id));
    const { responseId } = await bot.command(asSlackSends(sub.example), 'U0REQUESTER');
    await bot.drain();
    const answer = shownText(bot, responseId); // the ack's, or the worker's once the request is posted
    const added = (await bot.deps.store.requests.model.scan().exec()).filter(
      (r) => !before.has(r.id) && !r.id.startsWith('name#') && !r.id.startsWith('rotation#'),
    );
    expect(answer, sub.example).toContain('is waiting for approval');
    expect(added, sub.example).toHaveLength(1);
    const request = await bot.deps.store.requests.get(String(added[0]?.id));
    if (!request) throw new Error('no request');
    await click(bot, request, 'U0PLATFORM1');
    await bot.drain();
    expect((await bot.deps.store.requests.get(request.id))?.status, sub.example).toBe('done');
  }
}, 60_000); // five requests end to end, each checkpointed step by step: past the 30-second default on a loaded machine

it('answers the examples that look, after those that change, with what they made', async () => {
  for (const name of ['users', 'user']) {
    const sub = subcommands.find((s) => s.name === name);
    if (!sub) throw new Error(`no subcommand ${name}`);
    const { result } = await bot.command(asSlackSends(sub.example), 'U0REQUESTER');
    const answer = JSON.stringify(JSON.parse(result.body || '{}'));

    expect(result.statusCode, sub.example).toBe(200);
    expect(answer, sub.example).toContain('build-bot');
  }
});

it('answers the approvers’ operations examples for an approver the policy names', async () => {
  const sub = subcommands.find((s) => s.name === 'jobs');
  if (!sub) throw new Error('no subcommand jobs');
  const { result } = await bot.command(asSlackSends(sub.example), 'U0PLATFORM1');

  expect(JSON.parse(result.body || '{}').text, sub.example).toBe(
    'No failed jobs: every job ran or was re-run to success.',
  );
  const auditSub = subcommands.find((s) => s.name === 'audit');
  if (!auditSub) throw new Error('no subcommand audit');
  const audit = await bot.command(asSlackSends(auditSub.example), 'U0PLATFORM1');
  expect(JSON.parse(audit.result.body || '{}').text, auditSub.example).toMatch(
    /^Audit trail of IAM user build-bot \(home\): \d+ events \(page 1\)$/,
  );
});

it('answers the report example for an approver the policy names, with a DM and its CSV', async () => {
  const sub = subcommands.find((s) => s.name === 'report');
  if (!sub) throw new Error('no subcommand report');
  const { result } = await bot.command(asSlackSends(sub.example), 'U0PLATFORM1');
  await bot.drain();

  expect(String(JSON.parse(result.body || '{}').text ?? ''), sub.example).toContain("I'll send it to you by DM");
  expect([...bot.slack.files.values()].at(-1)?.content, sub.example).toContain('build-bot');
});

it('runs the delete-user example last, asked by the owner the set-owner example made, approved and the user disabled', async () => {
  const sub = subcommands.find((s) => s.name === 'delete-user');
  if (!sub) throw new Error('no subcommand delete-user');
  const { responseId } = await bot.command(asSlackSends(sub.example), PEOPLE.bob);
  await bot.drain();
  const answer = shownText(bot, responseId);
  const request = (await bot.deps.store.requests.model.scan().exec()).find((r) => r.kind === 'delete-user');
  if (!request) throw new Error(`no request: ${answer}`);
  await click(bot, await bot.deps.store.requests.get(request.id).then((r) => r ?? request), 'U0PLATFORM1');
  await bot.drain();

  expect(answer, sub.example).toContain('is waiting for approval');
  const done = await bot.deps.store.requests.get(request.id);
  expect(done?.status, sub.example).toBe('done');
  expect(done?.deletion?.deleteAt, sub.example).toBeDefined();
});
