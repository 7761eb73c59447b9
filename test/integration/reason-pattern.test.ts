/**
 * Reasons that say something: a group of policy.yml with `reasonPattern` (and `reasonHint`) refuses, at submission,
 * a request for it whose reason does not match, saying what to write; nothing is stored or posted. Signed commands
 * and form submissions through the real Slack handler, IAM in moto.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE_USER_BLOCKS } from '../../src/blocks/ids.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { changeRequestFor, ensureGroup, existingUser } from '../support/changes.js';
import { requestFor, shownText, submitForm, validForm } from '../support/create-user.js';
import { testPolicy } from '../support/policy.js';

const HINT = 'a ticket id like OPS-123';
const REFUSAL = `\`prod-deployers\` needs a reason that matches \`^[A-Z]+-[0-9]+\`: ${HINT}.`;

let bot: TestBot;
beforeAll(async () => {
  const policy = testPolicy();
  bot = await startTestBot({
    policy: {
      ...policy,
      groups: [
        ...policy.groups,
        {
          name: 'prod-deployers',
          description: 'Deploy to production',
          reasonPattern: '^[A-Z]+-[0-9]+',
          reasonHint: HINT,
        },
      ],
    },
  });
  await ensureGroup(bot, 'prod-deployers');
});
afterAll(async () => {
  await bot.stop();
});

let seq = 0;
const nextName = (what: string) => `${what}-${++seq}`;
const requestCount = async () => (await bot.deps.store.requests.model.scan().exec()).length;

async function command(text: string): Promise<string> {
  const { result, responseId } = await bot.command(text, 'U0REQUESTER');
  expect(result.statusCode).toBe(200);
  await bot.drain();
  return shownText(bot, responseId);
}

describe('a group whose reason must match a pattern', () => {
  it('refuses add-to-group with a reason that does not match, with the hint, storing nothing', async () => {
    // Prepare
    const name = nextName('reason-refused');
    await existingUser(bot, name, { owner: 'U0OWNER' });
    const before = await requestCount();

    // Act
    const answer = await command(`add-to-group ${name} prod-deployers --reason "need it for the release"`);

    // Assess
    expect(answer).toContain(REFUSAL);
    expect(await requestCount()).toBe(before);
  });

  it('takes add-to-group with a reason that matches, and a group without a pattern takes any reason', async () => {
    // Prepare
    const name = nextName('reason-taken');
    await existingUser(bot, name, { owner: 'U0OWNER' });

    // Act
    const answer = await command(`add-to-group ${name} prod-deployers read-only --reason "OPS-4711 release 2.3"`);

    // Assess
    expect(answer).toContain('is waiting for approval');
    expect((await changeRequestFor(bot, name)).justification).toBe('OPS-4711 release 2.3');
  });

  it('refuses a create-user form that asks for the group with a reason that does not match, in the form, storing nothing', async () => {
    // Prepare
    const before = await requestCount();

    // Act
    const result = await submitForm(
      bot,
      validForm(nextName('reason-form'), { groups: ['read-only', 'prod-deployers'], justification: 'release' }),
    );

    // Assess
    const ack = JSON.parse(result.body || '{}');
    expect(ack.response_action).toBe('errors');
    expect(ack.errors[CREATE_USER_BLOCKS.justification]).toBe(REFUSAL);
    expect(await requestCount()).toBe(before);
  });

  it('takes a create-user form for the group whose reason matches', async () => {
    // Prepare
    const name = nextName('reason-form-ok');

    // Act
    const result = await submitForm(
      bot,
      validForm(name, { groups: ['prod-deployers'], justification: 'SEC-12: deploy bot for production' }),
    );
    await bot.drain();

    // Assess
    expect(result.body ?? '').toBe('');
    expect((await requestFor(bot, name)).status).toBe('pending');
  });

  it('refuses the inline create-user command too', async () => {
    // Act
    const answer = await command(
      `create-user ${nextName('reason-inline')} --groups prod-deployers --keys --reason "for the release"`,
    );

    // Assess
    expect(answer).toContain(REFUSAL);
  });
});
