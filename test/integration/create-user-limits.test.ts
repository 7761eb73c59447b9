/**
 * Requests at the edges of what the bot accepts: a policy of 150 groups, many long tags, IAM's limits. Approvers
 * must see all of what they approve, and every payload must stay within Slack's limits (the shared check after
 * this file fails it otherwise).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE_USER_BLOCKS } from '../../src/blocks/ids.js';
import { section } from '../../src/blocks/text.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { APPROVALS, approvalMessageNow, requestFor, shownText, submitForm, validForm } from '../support/create-user.js';
import { testPolicy } from '../support/policy.js';
import { slackLimitViolations } from '../support/slack-limits.js';

const policy = testPolicy();
const manyGroups = [
  ...policy.groups,
  ...Array.from({ length: 146 }, (_, i) => ({ name: `team-${String(i).padStart(3, '0')}`, description: `Team ${i}` })),
];

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot({ policy: { ...policy, groups: manyGroups } });
});
afterAll(async () => {
  await bot.stop();
});

const body = (result: { body?: string }) => JSON.parse(result.body || '{}');
/** A tag as long as IAM allows: a 128-character key and a 256-character value. */
const longTag = (i: number) => `${`note-${i}-`.padEnd(128, 'k')}=${'v'.repeat(256)}`;

describe('a request at the limits', () => {
  it('shows approvers a tag that grants access after twenty long ones, and where the credentials go', async () => {
    const tags = [...Array.from({ length: 20 }, (_, i) => longTag(i)), 'access-level=admin'];
    const { responseId } = await bot.command(
      `create-user hidden-tag-bot --for <@U0RECIPIENT|rec> --groups ci-deployers --keys ${tags.map((t) => `--tag ${t}`).join(' ')} --reason "CI"`,
    );
    await bot.drain(); // the worker posts it, then answers the command
    expect(shownText(bot, responseId)).toContain('is waiting for approval');

    const { text } = approvalMessageNow(bot, await requestFor(bot, 'hidden-tag-bot'));

    expect(text).toContain('`access-level=admin`');
    for (const tag of tags) expect(text).toContain(`\`${tag}\``);
    expect(text).toContain('*Credentials go to:* <@U0RECIPIENT>, as a one-time link');
    expect(text).not.toContain('…');
  });

  it('offers all 150 groups of the policy in the form', async () => {
    await bot.command('create-user');

    const view = bot.slack.callsOf('views.open').at(-1)?.args.view as {
      blocks: { block_id: string; element: { option_groups?: { options: { value: string }[] }[] } }[];
    };
    const groups = view.blocks.find((b) => b.block_id === CREATE_USER_BLOCKS.groups)?.element;
    expect(groups?.option_groups?.flatMap((g) => g.options.map((o) => o.value))).toEqual(manyGroups.map((g) => g.name));
  });

  it('refuses eleven groups on the form’s field: IAM puts a user in ten at most', async () => {
    await bot.drain();
    const posts = bot.slack.postsTo(APPROVALS).length;

    const result = await submitForm(
      bot,
      validForm('eleven-groups-bot', { groups: manyGroups.slice(4, 15).map((g) => g.name) }),
    );

    expect(body(result).errors).toEqual({
      [CREATE_USER_BLOCKS.groups]: 'Choose at most 10 groups: IAM puts a user in no more (you chose 11).',
    });
    expect(bot.slack.postsTo(APPROVALS)).toHaveLength(posts);
  });

  it('refuses more tags than IAM allows beside the bot’s own, in the inline command’s reply', async () => {
    const tags = Array.from({ length: 47 }, (_, i) => `--tag t${i}=v`).join(' ');

    const { result } = await bot.command(
      `create-user many-tags-bot --groups ci-deployers --keys ${tags} --reason "CI"`,
    );

    expect(body(result).response_type).toBe('ephemeral');
    expect(body(result).text).toContain('Tags: at most 46 tags.');
  });
});

describe('the shared Slack-limit check', () => {
  it('sees every call a test bot makes to the Slack Web API', async () => {
    const before = slackLimitViolations.length;

    await bot.deps.messenger.post('C0GENERAL', { text: 'too long', blocks: [section('x'.repeat(3001))] });

    // Taken out again, so that this deliberate violation does not fail the file.
    expect(slackLimitViolations.splice(before)).toEqual([
      "chat.postMessage: blocks[0].text.text has 3001 characters, more than Slack's limit of 3000",
    ]);
  });
});
