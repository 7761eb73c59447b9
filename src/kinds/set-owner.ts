/** set-owner: someone made the owner of an IAM user (its slack-user-id tag). */
import { verifyChangeAtOnce } from '../services/kinds/change-at-once.js';
import { changeKind, ownerExcluded } from './change.js';

export const setOwner = changeKind('set-owner', {
  command: {
    summary:
      'asks to make someone the owner of an IAM user under the managed paths (its slack-user-id tag); approved by neither the owner, the new owner nor whoever asked.',
    usage: '/iam set-owner <iam-user> @someone --reason "..." [--account name]',
    example: '/iam set-owner build-bot @bob --reason "Bob runs the CI now"',
  },
  // An inline command stores the request before asking IAM: the worker asks it before posting (verifyChangeAtOnce;
  // a new owner always needs approval).
  verify: verifyChangeAtOnce(),
  // The new owner gets the user's key reminders and rotations, and is the one whose leaving offboards it.
  people: (request) => [
    {
      user: request.recipient,
      role: 'new owner',
      refusal: (who) =>
        `${who}: only a person in the workspace can own an IAM user, so I did not ask the approvers. Nothing was changed; name a person as the new owner.`,
    },
  ],
  excluded: (request) => [
    ownerExcluded(request),
    {
      user: request.recipient,
      reason: (verb) =>
        `This request makes you the owner of IAM user ${request.userName}, so you cannot ${verb} it: another approver must.`,
    },
  ],
});
