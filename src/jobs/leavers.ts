import * as z from 'zod/mini';
import type { Deps } from '../deps.js';
import { runLeaverDeletions } from '../services/kinds/leaver-deletions.js';
import { handleLeaver, noticeMemberBack, ownerUnknown, runOffboardReactivation } from '../services/kinds/offboard.js';
import { runOwnerCheckPart } from '../services/owner-check.js';

const leaverSchema = z.object({
  member: z.string().check(z.regex(/^[UW][A-Z0-9]{2,}$/)),
  trigger: z.enum(['event', 'scan']),
});

/**
 * A member noticed as gone (the user_change event, or the daily check): see handleLeaver. Only a member Slack says
 * is deactivated (`deleted: true`) is offboarded: an id Slack does not know (user_not_found: a mistyped owner tag, an
 * id of another workspace) is not someone who left, so nothing is deactivated and the approvers are told once
 * (ownerUnknownJob).
 */
export async function leaverJob(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  const { member, trigger } = leaverSchema.parse(payload);
  if ((await handleLeaver(deps, member, trigger)) === 'unknown') await deps.dispatcher.dispatch(ownerUnknown(member));
}

/**
 * Tells the approval channel that the IAM users tagged with `member` have an owner Slack does not know, and audits
 * it; changes nothing in IAM. Once per id (the job's id).
 */
export async function ownerUnknownJob(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  const { member } = z.object({ member: z.string().check(z.regex(/^[UW][A-Z0-9]{2,}$/)) }).parse(payload);
  const owned = await deps.store.users.ownedBy(member, { consistent: true });
  if (!owned.users.length) return;
  const names = owned.users.map((u) => u.userName).sort();
  await deps.store.audit.record({
    subject: `member#${member}`,
    at: deps.clock.now(),
    actor: 'system',
    action: 'owner-unknown',
    detail: { users: names, reason: 'Slack users.info answered user_not_found; nothing was deactivated' },
  });
  const shown = names.slice(0, 20).map((n) => `\`${n}\``);
  const more = names.length > shown.length ? ` and ${names.length - shown.length} more` : '';
  await deps.messenger.post(deps.config.policy.approvals.channel, {
    text:
      `:warning: ${names.length} IAM user${names.length === 1 ? '' : 's'} (${shown.join(', ')}${more}) ` +
      `${names.length === 1 ? 'is' : 'are'} tagged with the owner <@${member}>, an id Slack does not know ` +
      `(a mistyped \`slack-user-id\` tag, or someone of another workspace). Nothing was deactivated. ` +
      `Set the right owner with \`/iam set-owner <user> @someone\`.`,
  });
}

/** A member handled as gone is active in Slack again: the approval channel is told (see noticeMemberBack). */
export async function leaverBackJob(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  const { member } = z.object({ member: z.string().check(z.regex(/^[UW][A-Z0-9]{2,}$/)) }).parse(payload);
  await noticeMemberBack(deps, member);
}

/** An approver's Reactivate on an offboarding report (see runOffboardReactivation). */
export async function offboardReactivateJob(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  const { requestId } = z.object({ requestId: z.string().check(z.minLength(1)) }).parse(payload);
  await runOffboardReactivation(deps, requestId);
}

const ownerCheckSchema = z.object({
  day: z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}$/)),
  part: z.int().check(z.minimum(1)),
  cursor: z.optional(z.string()),
  unseenItems: z.optional(z.int().check(z.minimum(0))),
  unseen: z.optional(z.array(z.string())),
});

/** One part of the day's check of every owner (see checkOwnersPart). */
export async function ownerCheckJobHandler(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  await runOwnerCheckPart(deps, ownerCheckSchema.parse(payload));
}

/** An offboarding's `leavers.deleteAfterDays` day: its unkept users deleted (see runLeaverDeletions). */
export async function leaverDeletionsJobHandler(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  const { requestId } = z.object({ requestId: z.string().check(z.minLength(1)) }).parse(payload);
  await runLeaverDeletions(deps, requestId);
}
