/** Helpers for tests of change requests (add-to-group, remove-from-group, set-owner) against moto. */
import {
  AddUserToGroupCommand,
  CreateGroupCommand,
  CreateUserCommand,
  DeleteGroupCommand,
  GetGroupCommand,
  ListGroupsForUserCommand,
} from '@aws-sdk/client-iam';
import { expect } from 'vitest';
import type { AccessRequest } from '../../src/store/requests.js';
import type { TestBot } from './bot.js';
import { approvalMessageNow } from './create-user.js';

/** An IAM user made outside the bot (test setup, not role-checked), owned by `owner` when given. */
export async function existingUser(
  bot: TestBot,
  userName: string,
  options: { owner?: string; path?: string; groups?: string[] } = {},
): Promise<void> {
  const iam = bot.deps.aws.account().iam;
  await iam.send(
    new CreateUserCommand({
      UserName: userName,
      Path: options.path ?? '/iam-slack-bot/',
      ...(options.owner ? { Tags: [{ Key: 'slack-user-id', Value: options.owner }] } : {}),
    }),
  );
  for (const group of options.groups ?? [])
    await ensureGroup(bot, group).then(() =>
      iam.send(new AddUserToGroupCommand({ UserName: userName, GroupName: group })),
    );
}

export async function ensureGroup(bot: TestBot, group: string): Promise<void> {
  const iam = bot.deps.aws.account().iam;
  try {
    await iam.send(new GetGroupCommand({ GroupName: group }));
  } catch {
    await iam.send(new CreateGroupCommand({ GroupName: group }));
  }
}

export const deleteGroup = (bot: TestBot, group: string) =>
  bot.deps.aws.account().iam.send(new DeleteGroupCommand({ GroupName: group }));

/** The user's groups in moto, sorted. */
export async function groupsOf(bot: TestBot, userName: string): Promise<string[]> {
  const out = await bot.deps.aws.account().iam.send(new ListGroupsForUserCommand({ UserName: userName }));
  return (out.Groups ?? []).map((g) => g.GroupName ?? '').sort();
}

/** The newest stored request about `userName`. */
export async function changeRequestFor(bot: TestBot, userName: string): Promise<AccessRequest> {
  const items = await bot.deps.store.requests.model.scan().exec();
  const mine = items
    .filter((r) => r.userName === userName && r.kind && r.kind !== 'create-user')
    .sort((a, b) => String(a.createdAt).localeCompare(String(b.createdAt)) || String(a.id).localeCompare(String(b.id)));
  const last = mine.at(-1);
  expect(last, `a change request for ${userName}`).toBeDefined();
  return (await bot.deps.store.requests.get(String(last?.id))) as AccessRequest;
}

/** The plan the approval message shows: `op target` per numbered step (target: the group, else the user). */
export function renderedPlan(bot: TestBot, request: Pick<AccessRequest, 'id'>): string[] {
  const text = (approvalMessageNow(bot, request).blocks as { text?: { text?: string } }[])
    .map((b) => b.text?.text ?? '')
    .join('\n');
  return [...text.matchAll(/^\d+\. `([A-Za-z]+) ([^\s`]+)(?: [→←] ([^\s`]+))?/gm)].map(
    (m) => `${m[1]} ${m[3] ?? m[2]}`,
  );
}

const READS = /^(Get|List)/;
/** The IAM writes the worker made from call index `from` on, as `Action target` (group, else user name). */
export function workerIamWrites(bot: TestBot, from: number): string[] {
  return bot.roles
    .checked()
    .slice(from)
    .filter((c) => c.fn === 'worker' && c.action.startsWith('iam:') && !READS.test(c.action.slice(4)))
    .map((c) => `${c.action.slice(4)} ${String(c.resources[0]).split('/').at(-1)}`);
}
