/**
 * What the kinds add to a policy group (`groups[]` in policy.yml), merged into its schema by src/config.ts: a kind that
 * reads fields of its own from a group declares their schema beside it (e.g. src/kinds/temporary-membership/policy.ts)
 * and is listed here. Data only (zod and the duration schema), like src/kinds/permissions/index.ts: the config loads no
 * kind code, and no kind module imports this.
 */
import { temporaryMembershipGroupFields } from './temporary-membership/policy.js';

export const KIND_GROUP_FIELDS = {
  ...temporaryMembershipGroupFields,
};
