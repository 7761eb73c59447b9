/**
 * `--like <existing-user>` (issue 22: the IAM console's "copy permissions from an existing user"): create-user and
 * add-to-group copy the groups of an existing managed user, only those the policy allows; the others are named as
 * skipped; both forms have it as "Same groups as". From the ownership projection (no IAM call before the answer). Signed requests, moto, the recording Slack
 * API and the role checker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE_USER_BLOCKS, CREATE_USER_LIKE, FORM_INPUT } from '../../src/blocks/ids.js';
import { refreshAccount } from '../../src/services/user-projection.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { changeRequestFor, ensureGroup, existingUser } from '../support/changes.js';
import { dmsTo, formValues, validForm } from '../support/create-user.js';

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot({ members: ['U0LIKEOWNER'] });
  // the model user: two groups the policy lists and one it does not (the bot never grants it)
  await ensureGroup(bot, 'unlisted-admins');
  await existingUser(bot, 'like-model', {
    owner: 'U0LIKEOWNER',
    groups: ['ci-deployers', 'read-only', 'unlisted-admins'],
  });
  await existingUser(bot, 'like-target', { owner: 'U0LIKEOWNER', groups: ['read-only'] });
  await bot.as('worker', () => refreshAccount(bot.deps, 'home', { reportWaitMs: 60_000 }));
});
afterAll(async () => {
  await bot.stop();
});

const ackText = (result: { body?: string }) => String(JSON.parse(result.body || '{}').text ?? '');
const requestsNamed = async (userName: string) =>
  (await bot.deps.store.requests.model.scan().exec()).filter(
    (r) => r.userName === userName,
  ) as unknown as AccessRequest[];

interface OpenedForm {
  callback_id: string;
  private_metadata: string;
  blocks: { block_id: string; optional?: boolean; label?: { text: string } }[];
}
/** Runs `/iam <command>` (no arguments: the form) as the model's owner and returns the form Slack was asked to open. */
const openForm = async (command: string) => {
  await bot.command(command, 'U0LIKEOWNER');
  return bot.slack.callsOf('views.open').at(-1)?.args.view as OpenedForm;
};
/** Submits an opened form as the model's owner with these values. */
const submitForm = (view: OpenedForm, values: Record<string, Record<string, Record<string, unknown>>>) =>
  bot.submitView({
    userId: 'U0LIKEOWNER',
    callbackId: view.callback_id,
    privateMetadata: view.private_metadata,
    values,
  });
/** The add-to-group form's values: no group picked, the groups of `like`. */
const membershipValues = (user: string, like: string, reason: string) => ({
  membership_user: { value: { type: 'plain_text_input', value: user } },
  membership_groups: { value: { type: 'multi_static_select', selected_options: [] } },
  membership_like: { value: { type: 'plain_text_input', value: like } },
  membership_justification: { value: { type: 'plain_text_input', value: reason } },
});
/** The create-user form's values: a valid form with no group picked, the groups of `like`. */
const createUserValues = (userName: string, like: string) => ({
  ...formValues(validForm(userName, { recipient: 'U0LIKEOWNER', groups: [] })),
  [CREATE_USER_LIKE]: { [FORM_INPUT]: { type: 'plain_text_input', value: like } },
});

describe('--like on add-to-group', () => {
  it('asks for the model’s groups the policy allows that the user lacks, and names the skipped and the held ones', async () => {
    const { result } = await bot.command(
      'add-to-group like-target --like like-model --reason "Same access as the model"',
      'U0LIKEOWNER',
    );
    await bot.drain();
    const request = await changeRequestFor(bot, 'like-target');

    const said = ackText(result);
    expect(said).toContain('Copying the groups of `like-model`: `ci-deployers`.');
    expect(said).toContain('Skipped (the policy does not let me grant it): `unlisted-admins`.');
    expect(said).toContain('Already held: `read-only`.');
    expect(request.kind).toBe('add-to-group');
    expect(request.groups).toEqual(['ci-deployers']);
  });

  it('refuses a model the bot does not manage, and stores nothing', async () => {
    const before = (await requestsNamed('like-target')).length;

    const { result } = await bot.command(
      'add-to-group like-target --like nobody-like-this --reason "Copy"',
      'U0LIKEOWNER',
    );
    await bot.drain();

    expect(ackText(result)).toContain('I know no IAM user `nobody-like-this` under the managed paths in home');
    expect((await requestsNamed('like-target')).length).toBe(before);
  });

  it('is refused on remove-from-group', async () => {
    const { result } = await bot.command('remove-from-group like-target --like like-model --reason "x"', 'U0LIKEOWNER');

    expect(ackText(result)).toContain('`--like` is for `add-to-group`');
  });
});

describe('--like on create-user', () => {
  it('gives the new user the model’s groups the policy allows, and names the skipped one', async () => {
    const { result } = await bot.command(
      'create-user like-new --for @U0LIKEOWNER --like like-model --keys --reason "A second CI user like the model"',
      'U0LIKEOWNER',
    );
    await bot.drain();
    const [request] = await requestsNamed('like-new');

    expect(ackText(result)).toContain('Copying the groups of `like-model`: `ci-deployers`, `read-only`.');
    expect(ackText(result)).toContain('`unlisted-admins`');
    expect(request?.groups).toEqual(['ci-deployers', 'read-only']);
  });
});

describe('"Same groups as" in the add-to-group form', () => {
  it('offers the field, lets the groups come from it alone, and asks for the model’s allowed groups the user lacks', async () => {
    await existingUser(bot, 'like-form-target', { owner: 'U0LIKEOWNER' });
    await bot.as('worker', () => refreshAccount(bot.deps, 'home', { reportWaitMs: 60_000 }));
    const view = await openForm('add-to-group like-form-target');

    const result = await submitForm(view, membershipValues('like-form-target', 'like-model', 'Same as the model'));
    await bot.drain();

    expect(view.blocks.find((b) => b.block_id === 'membership_like')?.label?.text).toBe('Same groups as');
    expect(view.blocks.find((b) => b.block_id === 'membership_groups')?.optional).toBe(true);
    expect(result.body ?? '').toBe('');
    expect((await changeRequestFor(bot, 'like-form-target')).groups).toEqual(['ci-deployers', 'read-only']);
  });

  it('shows an unknown model on its own field', async () => {
    const view = await openForm('add-to-group like-target');

    const result = await submitForm(view, membershipValues('like-target', 'nobody-like-this', 'Copy'));

    expect(JSON.parse(result.body || '{}')).toMatchObject({
      response_action: 'errors',
      errors: { membership_like: expect.stringContaining('I know no IAM user `nobody-like-this`') },
    });
  });
});

describe('"Same groups as" in the create-user form', () => {
  it('offers the field, asks for the model’s groups the policy allows, and DMs the requester the skipped one', async () => {
    // Prepare
    const view = await openForm('create-user');

    // Act
    const result = await submitForm(view, createUserValues('like-form-new', 'like-model'));
    await bot.drain();
    const [request] = await requestsNamed('like-form-new');

    // Assess
    expect(view.blocks.find((b) => b.block_id === CREATE_USER_LIKE)?.label?.text).toBe('Same groups as');
    expect(view.blocks.find((b) => b.block_id === CREATE_USER_BLOCKS.groups)?.optional).toBe(true);
    expect(result.body ?? '').toBe('');
    expect(request?.groups).toEqual(['ci-deployers', 'read-only']);
    const told = dmsTo(bot, 'U0LIKEOWNER').join('\n');
    expect(told).toContain('Copying the groups of `like-model`: `ci-deployers`, `read-only`.');
    expect(told).toContain('Skipped (the policy does not let me grant it): `unlisted-admins`.');
  });

  it('shows an unknown model on its own field, and stores nothing', async () => {
    // Prepare
    const view = await openForm('create-user');

    // Act
    const result = await submitForm(view, createUserValues('like-form-none', 'nobody-like-this'));
    await bot.drain();

    // Assess
    expect(JSON.parse(result.body || '{}')).toMatchObject({
      response_action: 'errors',
      errors: { [CREATE_USER_LIKE]: expect.stringContaining('I know no IAM user `nobody-like-this`') },
    });
    expect(await requestsNamed('like-form-none')).toEqual([]);
  });
});
