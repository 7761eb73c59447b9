/**
 * temporary-membership: an existing IAM user added to groups the policy lists for a time (`/iam add-to-group <user>
 * <group...> --for 4h`), removed by the bot at the end. Its request is a change request (the owner may not decide
 * it; the groups' approvers do); its run (./run.ts, worker only) adds, then sleeps in a `wait` step that wakes for
 * the notice before the end and for the end, then removes exactly what it added. Its buttons (./signals.ts) are
 * signals to that run. This module is the Slack function's part: rendering, who decides, how it is typed and checked
 * (./draft.ts: `--for`, the form's duration), its App Home section (./home.ts); its item fields are ./item.ts.
 */
import { changeRequesterUpdateMessage } from '../../blocks/change-request.js';
import { context, section } from '../../blocks/text.js';
import { verifyChangeAtOnce } from '../../services/kinds/change-at-once.js';
import { addToGroup } from '../add-to-group.js';
import { changeKind } from '../change.js';
import { temporaryMembershipDraft } from './draft.js';
import { grantHomeBlocks, grantsOn } from './home.js';
import { grantRequesterLine, grantSummary } from './messages.js';

export const temporaryMembership = changeKind('temporary-membership', {
  ...(addToGroup.people ? { people: addToGroup.people } : {}),
  draft: temporaryMembershipDraft,
  home: {
    name: 'temporary memberships',
    blocks: async (deps, users, now) => grantHomeBlocks(await grantsOn(deps, users), now),
  },
  // the worker's check of an inline command, then its at-once rule (break-glass: the owner, within the limits)
  verify: verifyChangeAtOnce(temporaryMembershipDraft),
  render: {
    requesterUpdate: (request) => {
      const line = grantRequesterLine(request);
      if (!line) return changeRequesterUpdateMessage(request);
      return {
        text: `Request ${request.id} (${request.kind} ${request.userName}): done`,
        blocks: [section(line), context(`Request \`${request.id}\``)],
      };
    },
    waiting: (request, channel) =>
      `Your request \`${request.id}\` to ${grantSummary(request)} is waiting for approval in <#${channel}>. I'll DM you when it is decided.`,
  },
});
