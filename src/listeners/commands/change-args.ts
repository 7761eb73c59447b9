import { patchDraft } from '../../kinds/change-draft.js';
import { CHANGE_ARGUMENTS } from '../../kinds/forms.js';
import { kindFlags } from '../../kinds/registry.js';
import type { CommandFlag } from '../../kinds/types.js';
import { closestName } from '../../services/closest.js';
import type { ChangeDraft, ChangeKind } from '../../services/kinds/change-requests.js';
import { tokenizeCommand, unescapeSlack, userId } from './create-user-args.js';

/** The flags every change command reads; the kinds add theirs (RequestKindModule.draft.flags). */
export const SHARED_FLAGS = ['--reason', '--justification', '--account'] as const;

/** A command's words as read in order: a word that is no flag, a known flag with its value, or a problem. */
export type CommandToken =
  | { type: 'word'; text: string }
  | { type: 'flag'; name: string; value: string }
  | { type: 'problem'; text: string };

/**
 * Reads a command's words in order, knowing `flags` (`bare` ones take no value, '' is given): a flag's value is
 * `--flag=value` or the next word that is no flag. An unknown flag (with the closest known one), a flag without its
 * value and a bare flag given one are problems in their place. Checks nothing else.
 */
export function commandTokens(text: string, flags: readonly string[], bare: readonly string[] = []): CommandToken[] {
  const tokens: CommandToken[] = [];
  const { words, problem } = tokenizeCommand(text.trim());
  if (problem) tokens.push({ type: 'problem', text: problem });
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    if (!word.startsWith('--')) {
      tokens.push({ type: 'word', text: word });
      continue;
    }
    const eq = word.indexOf('=');
    const name = (eq < 0 ? word : word.slice(0, eq)).toLowerCase();
    const flag = flags.find((f) => f === name);
    if (!flag) {
      const near = closestName(
        name.slice(2),
        flags.map((f) => f.slice(2)),
      );
      tokens.push({
        type: 'problem',
        text: `Unknown option \`${name}\`.${near ? ` Did you mean \`--${near}\`?` : ''}`,
      });
      continue;
    }
    if (bare.includes(flag)) {
      // a flag without a value (`--break-glass`)
      tokens.push(
        eq >= 0 ? { type: 'problem', text: `\`${flag}\` takes no value.` } : { type: 'flag', name: flag, value: '' },
      );
      continue;
    }
    let value = eq < 0 ? undefined : word.slice(eq + 1);
    if (value === undefined) {
      const next = words[i + 1];
      if (next === undefined || next.startsWith('--')) {
        tokens.push({ type: 'problem', text: `\`${flag}\` needs a value.` });
        continue;
      }
      value = next;
      i++;
    }
    tokens.push({ type: 'flag', name: flag, value });
  }
  return tokens;
}

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
  const bare = kindsFlags.filter((f) => f.bare).map((f) => f.name);
  const problems: string[] = [];
  for (const token of commandTokens(text, FLAGS, bare)) {
    if (token.type === 'problem') {
      problems.push(token.text);
      continue;
    }
    if (token.type === 'word') {
      const word = token.text;
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
    const own = kindsFlags.find((f) => f.name === token.name);
    if (own) {
      const read = own.read(token.value, draft);
      if ('problem' in read) problems.push(read.problem);
      else draft = patchDraft(draft, read);
    } else if (token.name === '--account') draft.account = unescapeSlack(token.value);
    else draft.justification = unescapeSlack(token.value);
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
