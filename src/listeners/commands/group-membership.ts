import { helpOf } from '../../blocks/command-help.js';
import { membershipModal } from '../../blocks/membership-modal.js';
import { esc } from '../../blocks/text.js';
import { ValidationError } from '../../errors.js';
import { draftLike } from '../../kinds/like.js';
import { groupsLike, likeNote } from '../../services/like-user.js';
import { parseChangeArgs } from './change-args.js';
import { submitInline } from './change-reply.js';
import type { Subcommand } from './subcommand.js';

/**
 * `/iam add-to-group` and `/iam remove-from-group`: with the user, groups and reason given inline, checks the change
 * against the policy (and, for a removal, which its owner may have done at once, IAM) and stores it as a request
 * (one write, one hand-off; the worker asks IAM before posting an addition and gives the command its one answer);
 * otherwise opens the form pre-filled with what was given (ack first, then views.open).
 */
function membershipCommand(kind: 'add-to-group' | 'remove-from-group'): Subcommand {
  const usage = helpOf(kind).usage;
  return {
    ...helpOf(kind),
    async run({ deps, args, command, ack, client }) {
      const { draft, problems } = parseChangeArgs(kind, args);
      if (problems.length) {
        await ack({ response_type: 'ephemeral', text: `${problems.join('\n')}\nUsage: \`${esc(usage)}\`` });
        return;
      }
      // `--like <user>`: the groups of an existing managed user the policy allows, that this user lacks
      const like = draftLike(draft);
      let likeText: string | undefined;
      if (like) {
        try {
          const copied = await groupsLike(deps, draft.account, like, draft.userName);
          draft.groups = [...new Set([...(draft.groups ?? []), ...copied.groups])];
          likeText = likeNote(copied);
        } catch (error) {
          if (!(error instanceof ValidationError)) throw error;
          await ack({ response_type: 'ephemeral', text: esc(error.message) });
          return;
        }
        if (!draft.groups.length) {
          await ack({ response_type: 'ephemeral', text: `${esc(likeText)}\nNothing to ask for.` });
          return;
        }
      }
      if (!draft.userName || !draft.groups?.length || !draft.justification?.trim()) {
        await ack(likeText ? { response_type: 'ephemeral', text: esc(likeText) } : undefined);
        await client.views.open({
          trigger_id: command.trigger_id,
          view: membershipModal(
            deps.config.policy,
            { kind, channel: command.channel_id, ...(draft.account ? { account: draft.account } : {}) },
            draft,
          ) as never,
        });
        return;
      }
      const text = await submitInline(deps, command.user_id, draft, {
        channel: command.channel_id,
        responseUrl: command.response_url,
      });
      const answer = [likeText && esc(likeText), text].filter(Boolean).join('\n');
      await ack(answer ? { response_type: 'ephemeral', text: answer } : undefined);
    },
  };
}

export const addToGroup = membershipCommand('add-to-group');
export const removeFromGroup = membershipCommand('remove-from-group');
