/** set-owner: someone made the owner of an IAM user (its slack-user-id tag). */
import { changeKind, ownerExcluded } from './change.js';

export const setOwner = changeKind('set-owner', {
  excluded: (request) => [
    ownerExcluded(request),
    {
      user: request.recipient,
      reason: (verb) =>
        `This request makes you the owner of IAM user ${request.userName}, so you cannot ${verb} it: another approver must.`,
    },
  ],
});
