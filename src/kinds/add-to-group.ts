/** add-to-group: an existing IAM user added to groups the policy lists. */
import { verifyChangeAtOnce } from '../services/kinds/change-at-once.js';
import { changeKind } from './change.js';
import { LIKE_FLAG, LIKE_FORM_FIELD } from './like.js';

export const addToGroup = changeKind('add-to-group', {
  command: {
    summary:
      'asks to add an IAM user to groups the policy lists; approved like a new user (no approval by its owner or by whoever asked).',
    usage:
      '/iam add-to-group <iam-user> <group> [group...] [--like iam-user] --reason "..." [--for 4h [--break-glass]] [--account name]',
    example: '/iam add-to-group build-bot read-only --reason "Needs to read the staging logs"',
  },
  // An inline command stores the request before asking IAM: the worker asks it before posting (verifyChangeAtOnce:
  // an addition is never done at once, but one for a time may be, as break-glass: see temporary-membership).
  verify: verifyChangeAtOnce(),
  // `--like <user>`: the groups of an existing managed user (the command copies those the policy allows)
  draft: { flags: [LIKE_FLAG], formFields: [LIKE_FORM_FIELD] },
  // More access for a user whose owner (who is told, and answers for it) is no person in the workspace waits for a
  // new owner. A removal is never held up so (remove-from-group declares nobody).
  people: (request) =>
    request.owner
      ? [
          {
            user: request.owner,
            role: 'owner',
            refusal: (who) =>
              `${who}, and owns IAM user \`${request.userName}\`: only a user a person in the workspace owns is given more access, so I did not ask the approvers. Nothing was changed; give it a new owner first (\`/iam set-owner\`).`,
          },
        ]
      : [],
});
