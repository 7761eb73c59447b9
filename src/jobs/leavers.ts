import * as z from 'zod/mini';
import type { Deps } from '../deps.js';
import { handleLeaver, noticeMemberBack, runOffboardReactivation } from '../services/kinds/offboard.js';

const leaverSchema = z.object({
  member: z.string().check(z.regex(/^[UW][A-Z0-9]{2,}$/)),
  trigger: z.enum(['event', 'scan']),
});

/** A member noticed as gone (the user_change event, or the daily check): see handleLeaver. */
export async function leaverJob(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  const { member, trigger } = leaverSchema.parse(payload);
  await handleLeaver(deps, member, trigger);
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
