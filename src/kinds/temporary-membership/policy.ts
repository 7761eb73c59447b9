/**
 * What a policy group may say to temporary membership (`groups[].…` in policy.yml): merged into the group schema by
 * src/config.ts through src/kinds/policy.ts. Data only (zod and the duration schema): config.ts loads no kind code.
 */
import * as z from 'zod/mini';
import { duration } from '../../duration.js';

export const temporaryMembershipGroupFields = {
  /**
   * Temporary membership (`/iam add-to-group … --for 4h`): whether the group is granted only for a time (a
   * permanent request is refused, with the command to use instead).
   */
  temporaryOnly: z._default(z.boolean(), false),
  /** The longest a temporary membership of this group lasts, and the longest one extension adds (`8h`, `2d`, `90m`). */
  maxDuration: z._default(duration, '8h'),
  /** How many times a temporary membership of this group may be extended (0: never). */
  maxExtensions: z._default(z.int().check(z.minimum(0), z.maximum(20)), 2),
  /** Whether an extension goes through approval again (else the owner or requester extends it at once). */
  extensionNeedsApproval: z._default(z.boolean(), false),
  /**
   * Break-glass (`/iam add-to-group <user> <group> --for 1h --break-glass --reason "..."`): the owner of an
   * IAM user may add it at once, without approval, for at most `maxDuration`; the approval channel is told
   * and an approver must mark it Reviewed within `reviewWithin` (else the approvers are named in an
   * escalation). Absent: no break-glass for the group.
   */
  breakGlass: z.optional(z.strictObject({ maxDuration: duration, reviewWithin: z._default(duration, '24h') })),
};
