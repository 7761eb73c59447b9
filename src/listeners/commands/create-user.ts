import { helpOf } from '../../blocks/command-help.js';
import { createUserModal } from '../../blocks/create-user-modal.js';
import { esc } from '../../blocks/text.js';
import { ValidationError } from '../../errors.js';
import { consolePasswordWarning } from '../../services/console-password.js';
import { groupsLike, likeNote } from '../../services/like-user.js';
import { type CheckedDraft, checkCreateUserDraftLocally, isDraftComplete } from '../../services/request-validation.js';
import { submitRequest } from '../../services/requests.js';
import { missingOptions, parseCreateUserArgs } from './create-user-args.js';
import type { Subcommand } from './subcommand.js';

const USAGE = helpOf('create-user').usage;

/**
 * `/iam create-user`: with everything given inline, checks it without the network, stores it and acks with no message
 * (the worker asks IAM, posts it to the approval channel, then gives the command its one answer: waiting, or why
 * not); otherwise opens the form,
 * pre-filled with what was given (ack first, then views.open, nothing slow in between: trigger_id lasts 3 s).
 */
export const createUser: Subcommand = {
  ...helpOf('create-user'),
  async run({ deps, args, command, ack, client }) {
    const { policy } = deps.config;
    const { draft, problems, anyway, like } = parseCreateUserArgs(args);
    if (problems.length) {
      await ack({ response_type: 'ephemeral', text: `${problems.join('\n')}\nUsage: \`${esc(USAGE)}\`` });
      return;
    }
    // `--like <user>`: the groups of an existing managed user the policy allows (the others named as skipped)
    let likeText: string | undefined;
    if (like) {
      try {
        const copied = await groupsLike(deps, draft.account, like);
        draft.groups = [...new Set([...(draft.groups ?? []), ...copied.groups])];
        likeText = likeNote(copied);
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        await ack({ response_type: 'ephemeral', text: esc(error.message) });
        return;
      }
    }
    if (!isDraftComplete(policy, draft)) {
      const missing = missingOptions(policy, draft);
      // Typed with options but not all of them: say what was missing, or the form seems to come from nowhere.
      await ack(
        args.trim()
          ? {
              response_type: 'ephemeral',
              text: `${likeText ? `${esc(likeText)}\n` : ''}Opening the form: the command did not give ${missing.join(', ')}.`,
            }
          : undefined,
      );
      await client.views.open({
        trigger_id: command.trigger_id,
        view: createUserModal({
          policy,
          requester: command.user_id,
          prefill: draft,
          context: { channel: command.channel_id },
        }) as never,
      });
      return;
    }
    // Read for console access only (one IAM call), never throws.
    const warning = anyway || draft.accessType === 'keys' ? undefined : consolePasswordWarning(deps, draft);
    // Checked here without the network: the worker asks IAM (the user must not exist, the groups must) before it
    // posts the request, and gives the refusal as the command's one answer. On a cold container the answer then
    // waits for one write and the hand-off, not for STS and IAM too (issue 19).
    let checked: CheckedDraft;
    try {
      checked = checkCreateUserDraftLocally(policy, command.user_id, draft);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      const lines = Object.values(error.fields).map((m) => `• ${esc(m)}`);
      await ack({ response_type: 'ephemeral', text: `I can't ask for that user yet:\n${lines.join('\n')}` });
      return;
    }
    const warned = warning && (await warning);
    if (warned) {
      await ack({
        response_type: 'ephemeral',
        text: `I did not send this request yet.\n${warned.text}\nIf one of its groups grants \`iam:ChangePassword\`, add \`--anyway\` to send it all the same.`,
      });
      return;
    }
    try {
      await submitRequest(deps, command.user_id, checked, {
        channel: command.channel_id,
        responseUrl: command.response_url,
      });
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      await ack({ response_type: 'ephemeral', text: `I can't ask for that user yet:\n• ${esc(error.message)}` });
      return;
    }
    // An empty ack: the worker answers once the request is posted ("waiting for approval") or refused (a recipient
    // who cannot receive it). A slash command's response_url cannot replace an ack's message (replace_original adds
    // one, bolt-js#2287), so a "waiting" ack would stay above a refusal.
    await ack(likeText ? { response_type: 'ephemeral', text: esc(likeText) } : undefined);
  },
};
