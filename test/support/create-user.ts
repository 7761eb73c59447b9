/** Helpers for tests of `/iam create-user`: the form as Slack submits it, the approval message, the user in moto. */
import {
  GetLoginProfileCommand,
  GetUserCommand,
  ListAccessKeysCommand,
  ListGroupsForUserCommand,
  ListUsersCommand,
  ListUserTagsCommand,
  UpdateAccountPasswordPolicyCommand,
} from '@aws-sdk/client-iam';
import { CREATE_USER_BLOCKS, CREATE_USER_MODAL, FORM_INPUT, REQUEST_APPROVE } from '../../src/blocks/ids.js';
import type { HttpResult } from '../../src/http/types.js';
import type { AccessRequest } from '../../src/store/requests.js';
import type { TestBot } from './bot.js';

export const APPROVALS = 'C0APPROVALS';

export interface FormInput {
  userName?: string;
  recipient?: string;
  accessType?: 'keys' | 'console' | 'both';
  groups?: string[];
  account?: string;
  tags?: string;
  justification?: string;
}

/**
 * Gives the account a password policy that lets IAM users change their own password, so that console requests go
 * without the lock-out warning (src/services/console-password.ts).
 */
export async function allowPasswordChange(bot: TestBot, account = 'home'): Promise<void> {
  await bot.deps.aws
    .account(account)
    .iam.send(new UpdateAccountPasswordPolicyCommand({ AllowUsersToChangePassword: true }));
}

/** `view.state.values` of the create-user form as Slack sends it. */
export function formValues(input: FormInput) {
  const b = CREATE_USER_BLOCKS;
  const values: Record<string, Record<string, Record<string, unknown>>> = {
    [b.userName]: { [FORM_INPUT]: { type: 'plain_text_input', value: input.userName ?? null } },
    [b.recipient]: { [FORM_INPUT]: { type: 'users_select', selected_user: input.recipient ?? null } },
    [b.accessType]: {
      [FORM_INPUT]: { type: 'radio_buttons', selected_option: input.accessType ? { value: input.accessType } : null },
    },
    [b.groups]: {
      [FORM_INPUT]: { type: 'multi_static_select', selected_options: (input.groups ?? []).map((value) => ({ value })) },
    },
    [b.tags]: { [FORM_INPUT]: { type: 'plain_text_input', value: input.tags ?? null } },
    [b.justification]: { [FORM_INPUT]: { type: 'plain_text_input', value: input.justification ?? null } },
  };
  if (input.account !== undefined)
    values[b.account] = { [FORM_INPUT]: { type: 'static_select', selected_option: { value: input.account } } };
  return values;
}

/** A complete, valid form for `userName`: access key, ci-deployers, for U0RECIPIENT. */
export const validForm = (userName: string, overrides: FormInput = {}): FormInput => ({
  userName,
  recipient: 'U0RECIPIENT',
  accessType: 'keys',
  groups: ['ci-deployers'],
  justification: 'Deploys the web app from CI',
  ...overrides,
});

/** Submits the create-user form as `userId`. */
export function submitForm(bot: TestBot, input: FormInput, userId = 'U0REQUESTER'): Promise<HttpResult> {
  return bot.submitView({
    userId,
    callbackId: CREATE_USER_MODAL,
    values: formValues(input),
    privateMetadata: JSON.stringify({ channel: 'C0GENERAL' }),
  });
}

/** The stored request for an IAM user name (the newest, if several). */
export async function requestFor(bot: TestBot, userName: string): Promise<AccessRequest> {
  const items = await bot.deps.store.requests.model.scan('userName').eq(userName).all().exec(); // every page: a scan stops at 1 MB
  const newest = [...items].sort((a, b) => a.createdAt.localeCompare(b.createdAt)).at(-1);
  const request = newest ? await bot.deps.store.requests.get(newest.id) : undefined;
  if (!request) throw new Error(`no request for ${userName}`);
  return request;
}

/**
 * Submits a valid form and returns the pending request it created, once the worker has posted it to the approval
 * channel (the submission only stores it and hands the posting over).
 */
export async function requestUser(bot: TestBot, userName: string, overrides: FormInput = {}, userId = 'U0REQUESTER') {
  const result = await submitForm(bot, validForm(userName, overrides), userId);
  if (result.body) throw new Error(`the form was refused: ${result.body}`);
  await bot.drain();
  return requestFor(bot, userName);
}

/** Clicks a button of a request's approval message as `userId`. */
export async function click(bot: TestBot, request: AccessRequest, userId: string, actionId = REQUEST_APPROVE) {
  return bot.clickButton({
    userId,
    actionId,
    value: request.id,
    blockId: `request_actions_${request.id}`,
    ...(request.message ? { message: request.message } : {}),
  });
}

/** The ephemeral replies sent through a click's or command's response_url. */
export const repliesTo = (bot: TestBot, responseId: string): string[] =>
  bot.slack
    .callsOf('response_url')
    .filter((c) => c.args.response_id === responseId)
    .map((c) => String(c.args.text ?? JSON.stringify(c.args.blocks)));

/**
 * What a command's user sees under it now (the ack's message, then each post to its response_url), one line each. A
 * request's command is acked with no message; the worker's post is its one answer.
 */
export const shownText = (bot: TestBot, responseId: string): string =>
  bot.slack
    .shown(responseId)
    .map((m) => m.text ?? '')
    .join('\n');

/** The approval message of a request as it reads now: its post, then its updates (text of all blocks). */
export function approvalMessageNow(
  bot: TestBot,
  request: Pick<AccessRequest, 'id'>,
): { text: string; blocks: unknown[] } {
  const calls = bot.slack.calls.filter(
    (c) =>
      ((c.method === 'chat.postMessage' && c.args.channel === APPROVALS) || c.method === 'chat.update') &&
      JSON.stringify(c.args).includes(request.id),
  );
  const last = calls.at(-1);
  if (!last) throw new Error(`no approval message for ${request.id}`);
  const blocks = (last.args.blocks as unknown[]) ?? [];
  return { text: JSON.stringify(blocks), blocks };
}

/** The action ids of the buttons the approval message shows now. */
export function buttonsNow(bot: TestBot, request: Pick<AccessRequest, 'id'>): string[] {
  const { blocks } = approvalMessageNow(bot, request);
  return (blocks as { type: string; elements?: { action_id?: string }[] }[])
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements ?? [])
    .map((e) => e.action_id ?? '');
}

/** DMs the bot posted to a user, as JSON text. */
export const dmsTo = (bot: TestBot, userId: string): string[] =>
  bot.slack
    .callsOf('chat.postMessage')
    .filter((c) => c.args.channel === userId)
    .map((c) => JSON.stringify(c.args));

/** Everything moto knows about an IAM user (in the home account unless told), or undefined when it does not exist. */
export async function iamUser(bot: TestBot, userName: string, account = 'home') {
  const iam = bot.deps.aws.account(account).iam;
  try {
    const { User } = await iam.send(new GetUserCommand({ UserName: userName }));
    const tags = await iam.send(new ListUserTagsCommand({ UserName: userName }));
    const groups = await iam.send(new ListGroupsForUserCommand({ UserName: userName }));
    const keys = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
    const loginProfile = await iam.send(new GetLoginProfileCommand({ UserName: userName })).then(
      () => true,
      () => false,
    );
    return {
      path: User?.Path,
      tags: Object.fromEntries((tags.Tags ?? []).map((t) => [t.Key, t.Value])),
      groups: (groups.Groups ?? []).map((g) => g.GroupName).sort(),
      keys: (keys.AccessKeyMetadata ?? []).map((k) => k.AccessKeyId),
      loginProfile,
    };
  } catch (error) {
    if ((error as Error).name === 'NoSuchEntityException') return undefined;
    throw error;
  }
}

/** Names of every IAM user in moto's home account. */
export async function iamUserNames(bot: TestBot): Promise<string[]> {
  const out = await bot.deps.aws.account().iam.send(new ListUsersCommand({}));
  return (out.Users ?? []).map((u) => u.UserName ?? '').sort();
}

/** Audit actions recorded for a request, oldest first. */
export async function auditActions(bot: TestBot, requestId: string): Promise<string[]> {
  return (await bot.deps.store.audit.list(`request#${requestId}`)).map((e) => e.action);
}
