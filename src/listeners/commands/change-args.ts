import { durationMs } from '../../config.js';
import { CHANGE_RULES } from '../../kinds/change-rules.js';
import { CHANGE_ARGUMENTS } from '../../kinds/forms.js';
import { closestName } from '../../services/closest.js';
import type { ChangeDraft, ChangeKind } from '../../services/kinds/change-requests.js';
import { tokenizeCommand, unescapeSlack, userId } from './create-user-args.js';

const FLAGS = ['--reason', '--justification', '--account', '--for'] as const;

/**
 * Reads `/iam add-to-group build-bot ci-deployers read-only --reason "..."` (groups also comma-separated), the same
 * for remove-from-group, and `/iam set-owner build-bot @alice --reason "..."`. Flags may be written `--flag=value`.
 * Checks nothing against the policy or IAM.
 */
export function parseChangeArgs(kind: ChangeKind, text: string): { draft: ChangeDraft; problems: string[] } {
  const draft: ChangeDraft = { kind };
  const problems: string[] = [];
  const { words, problem } = tokenizeCommand(text.trim());
  if (problem) problems.push(problem);
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    if (!word.startsWith('--')) {
      if (draft.userName === undefined) draft.userName = unescapeSlack(word);
      else if (CHANGE_ARGUMENTS[kind] === 'new-owner') {
        const id = userId(word);
        if (id && !draft.newOwner) draft.newOwner = id;
        else
          problems.push(
            `I don't know what \`${unescapeSlack(word)}\` is for: name the new owner once, as a Slack mention (type @ and pick the person).`,
          );
      } else
        draft.groups = [
          ...(draft.groups ?? []),
          ...unescapeSlack(word)
            .split(',')
            .map((g) => g.trim())
            .filter(Boolean),
        ];
      continue;
    }
    const eq = word.indexOf('=');
    const name = (eq < 0 ? word : word.slice(0, eq)).toLowerCase();
    if (name === '--break-glass' && eq < 0) {
      // break-glass (src/kinds/temporary-membership/break-glass.ts): a flag without a value, with --for
      draft.breakGlass = true;
      continue;
    }
    const flag = FLAGS.find((f) => f === name);
    if (!flag) {
      const near = closestName(
        name.slice(2),
        [...FLAGS, '--break-glass'].map((f) => f.slice(2)),
      );
      problems.push(`Unknown option \`${name}\`.${near ? ` Did you mean \`--${near}\`?` : ''}`);
      continue;
    }
    let value = eq < 0 ? undefined : word.slice(eq + 1);
    if (value === undefined) {
      const next = words[i + 1];
      if (next === undefined || next.startsWith('--')) {
        problems.push(`\`${flag}\` needs a value.`);
        continue;
      }
      value = next;
      i++;
    }
    if (flag === '--account') draft.account = unescapeSlack(value);
    else if (flag === '--for') {
      // a temporary membership (src/kinds/temporary-membership): add-to-group for a time
      const ms = durationMs(value);
      const timed = CHANGE_RULES[draft.kind].timed;
      if (!timed) problems.push('`--for` is for `add-to-group` only: a membership for a time.');
      else if (ms === undefined) problems.push('`--for` takes a duration like `90m`, `4h` or `2d` (at most 30 days).');
      else {
        draft.kind = timed;
        draft.durationMs = ms;
      }
    } else draft.justification = unescapeSlack(value);
  }
  if (draft.breakGlass && !draft.durationMs && !problems.length)
    problems.push('`--break-glass` needs `--for <time>`: break-glass is a membership for a time.');
  if (draft.breakGlass && !draft.justification?.trim() && !problems.length)
    problems.push('`--break-glass` needs `--reason "..."`: say why, the approvers review it.');
  return { draft, problems };
}
