/** remove-from-group: an existing IAM user taken out of groups (at once for its owner or an approver of them). */
import { verifyChangeAtOnce } from '../services/kinds/change-at-once.js';
import { changeKind } from './change.js';

export const removeFromGroup = changeKind('remove-from-group', {
  command: {
    summary:
      "takes an IAM user out of groups: at once when you own the user or approve those groups, else after approval. The user's owner is told.",
    usage: '/iam remove-from-group <iam-user> <group> [group...] --reason "..." [--account name]',
    example: '/iam remove-from-group build-bot read-only --reason "No longer reads the logs"',
  },
  // An inline command stores the request before asking IAM: the worker asks it, then decides whether the owner or
  // an approver of the groups asked, which needs no approval (verifyChangeAtOnce).
  verify: verifyChangeAtOnce(),
});
