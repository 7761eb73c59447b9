import { patchDraft } from '../../kinds/change-draft.js';
import { CHANGE_ARGUMENTS } from '../../kinds/forms.js';
import { kindFlags } from '../../kinds/registry.js';
import type { CommandFlag } from '../../kinds/types.js';
import { closestName } from '../../services/closest.js';
import type { ChangeDraft, ChangeKind } from '../../services/kinds/change-requests.js';
import { tokenizeCommand, unescapeSlack, userId } from './create-user-args.js';

/** The flags every change command reads; the kinds add theirs (RequestKindModule.draft.flags). */
const SHARED_FLAGS = ['--reason', '--justification', '--account'] as const;

/**
 * Reads `/iam add-to-group build-bot ci-deployers read-only --reason "..."` (groups also comma-separated), the same
 * for remove-from-group, and `/iam set-owner build-bot @alice --reason "..."`. Flags may be written `--flag=value`;
 * besides the shared ones, each kind's flags (e.g. `--for 4h`) are read by their kind. Checks nothing against the
 * policy or IAM.
 */
export function parseChangeArgs(
  kind: ChangeKind,
  text: string,
  kindsFlags: readonly CommandFlag[] = kindFlags(),
): { draft: ChangeDraft; problems: string[] } {
  let draft: ChangeDraft = { kind };
  const FLAGS = [...SHARED_FLAGS, ...kindsFlags.map((f) => f.name)];
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
    const flag = FLAGS.find((f) => f === name);
    if (!flag) {
      const near = closestName(
        name.slice(2),
        FLAGS.map((f) => f.slice(2)),
      );
      problems.push(`Unknown option \`${name}\`.${near ? ` Did you mean \`--${near}\`?` : ''}`);
      continue;
    }
    const own = kindsFlags.find((f) => f.name === flag);
    if (own?.bare) {
      // a flag without a value (`--break-glass`)
      if (eq >= 0) problems.push(`\`${flag}\` takes no value.`);
      else {
        const read = own.read('', draft);
        if ('problem' in read) problems.push(read.problem);
        else draft = patchDraft(draft, read);
      }
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
    if (own) {
      const read = own.read(value, draft);
      if ('problem' in read) problems.push(read.problem);
      else draft = patchDraft(draft, read);
    } else if (flag === '--account') draft.account = unescapeSlack(value);
    else draft.justification = unescapeSlack(value);
  }
  // what a kind asks of the whole command once it is read (`--break-glass` needs `--for` and `--reason`)
  if (!problems.length)
    for (const f of kindsFlags) {
      const problem = f.complete?.(draft);
      if (problem) {
        problems.push(problem);
        break;
      }
    }
  return { draft, problems };
}
