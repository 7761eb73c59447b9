import { closestName } from '../../services/closest.js';
import type { CreateUserDraft } from '../../services/request-validation.js';
import type { AccessType } from '../../store/requests.js';

/** What `/iam create-user <text>` says, as far as it can be read, and what could not be read. */
export interface ParsedCreateUser {
  draft: CreateUserDraft;
  problems: string[];
  /** `--anyway`: send the request despite a warning (e.g. a console password its user could not change). */
  anyway: boolean;
  /** `--like <user>`: copy the groups of an existing managed user (services/like-user.ts). */
  like?: string;
}

/** Opening quotes and the quotes that may close them: Slack clients send straight or typographic ones. */
const QUOTES: Record<string, string> = {
  '"': '"”“',
  '“': '”“"',
  '”': '”“"',
  "'": "'’‘",
  '‘': "’‘'",
  '«': '»',
};

/** Undoes Slack's escaping of &, < and > in command text. */
export const unescapeSlack = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** Command text split into words, or why it cannot be. */
export interface Tokens {
  words: string[];
  /** Set when a quote is never closed: nothing after it can be read with confidence. */
  problem?: string;
}

/**
 * Splits command text into words. A quote (straight or typographic) opens only at the start of a word or after
 * `=`, and closes at a matching quote followed by a space or the end: so apostrophes inside words (`don't`,
 * `don’t`) are plain letters, and `‘don’t stop’` is one word. A Slack mention (`<@U123|alice>`) is one word whatever
 * its display name holds. A quote that never closes is reported, not silently extended to the end.
 */
export function tokenizeCommand(text: string): Tokens {
  const words: string[] = [];
  let i = 0;
  const isSpace = (ch: string | undefined) => ch === undefined || /\s/.test(ch);
  while (i < text.length) {
    if (isSpace(text[i])) {
      i++;
      continue;
    }
    let word = '';
    const wordStart = i;
    while (i < text.length && !isSpace(text[i])) {
      const ch = text[i] as string;
      const closers = QUOTES[ch];
      const opensHere = i === wordStart || text[i - 1] === '=';
      if (closers && opensHere) {
        let end = -1;
        for (let j = i + 1; j < text.length; j++) {
          if (closers.includes(text[j] as string) && isSpace(text[j + 1])) {
            end = j;
            break;
          }
        }
        if (end < 0) {
          const shown = text.slice(i, i + 30);
          return {
            words,
            problem: `The quote ${ch} in \`${unescapeSlack(shown)}${text.length > i + 30 ? '…' : ''}\` is never closed: close it (${ch}…${closers[0]}) or leave it out.`,
          };
        }
        word += text.slice(i + 1, end);
        i = end + 1;
      } else if (ch === '<') {
        const end = text.indexOf('>', i);
        const stop = end < 0 ? text.length : end + 1;
        word += text.slice(i, stop);
        i = stop;
      } else {
        word += ch;
        i++;
      }
    }
    words.push(word);
  }
  return { words };
}

/** The words of command text (see tokenizeCommand); an unclosed quote ends them. */
export function tokenize(text: string): string[] {
  return tokenizeCommand(text).words;
}

const FLAGS = [
  '--for',
  '--groups',
  '--group',
  '--keys',
  '--key',
  '--access-key',
  '--console',
  '--access',
  '--account',
  '--tags',
  '--tag',
  '--reason',
  '--justification',
  '--anyway',
  '--like',
] as const;
type Flag = (typeof FLAGS)[number];
const SWITCHES: Flag[] = ['--keys', '--key', '--access-key', '--console', '--anyway'];

/**
 * A Slack user id from a mention as Slack sends it (`<@U123|alice>`, `<@U123>`), or typed as an id (`@U123`,
 * `U123`).
 */
export function userId(word: string): string | undefined {
  const m = /^<@([UW][A-Z0-9]+)(\|[^>]*)?>$/.exec(word) ?? /^@?([UW][A-Z0-9]{2,})$/.exec(word);
  return m?.[1];
}

/**
 * Reads `/iam create-user build-bot --for @alice --groups ci-deployers,read-only --keys --console --account staging
 * --tag team=platform --reason "..."`. Every flag may also be written `--flag=value`. Returns what it understood and
 * a problem per word it could not; it checks nothing against the policy or IAM.
 */
export function parseCreateUserArgs(text: string): ParsedCreateUser {
  const draft: CreateUserDraft = {};
  const problems: string[] = [];
  const tokens = tokenizeCommand(text.trim());
  const words = tokens.words;
  if (tokens.problem) return { draft, problems: [tokens.problem], anyway: false };
  let keys = false;
  let wantsConsole = false;
  let anyway = false;
  let like: string | undefined;
  const tags: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    if (!word.startsWith('--')) {
      if (draft.userName === undefined) draft.userName = unescapeSlack(word);
      else
        problems.push(`I don't know what \`${unescapeSlack(word)}\` is for (the user name is \`${draft.userName}\`).`);
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
    if (SWITCHES.includes(flag)) {
      if (flag === '--console') wantsConsole = true;
      else if (flag === '--anyway') anyway = true;
      else keys = true;
      continue;
    }
    let value: string | undefined = eq < 0 ? undefined : word.slice(eq + 1);
    if (value === undefined) {
      const next = words[i + 1];
      if (next === undefined || next.startsWith('--')) {
        problems.push(`\`${flag}\` needs a value.`);
        continue;
      }
      value = next;
      i++;
    }
    switch (flag) {
      case '--for': {
        const id = userId(value);
        if (id) draft.recipient = id;
        else
          problems.push(
            `\`--for\` needs a Slack mention: type @ and pick the person, so that Slack sends who they are (got \`${unescapeSlack(value)}\`).`,
          );
        break;
      }
      case '--groups':
      case '--group':
        draft.groups = [
          ...(draft.groups ?? []),
          ...unescapeSlack(value)
            .split(',')
            .map((g) => g.trim())
            .filter(Boolean),
        ];
        break;
      case '--access': {
        const v = value.toLowerCase();
        if (v === 'keys' || v === 'key') keys = true;
        else if (v === 'console') wantsConsole = true;
        else if (v === 'both') keys = wantsConsole = true;
        else problems.push(`\`--access\` is keys, console or both (got \`${unescapeSlack(value)}\`).`);
        break;
      }
      case '--account':
        draft.account = unescapeSlack(value);
        break;
      case '--tags':
      case '--tag':
        tags.push(unescapeSlack(value));
        break;
      case '--reason':
      case '--justification':
        draft.justification = unescapeSlack(value);
        break;
      case '--like':
        like = unescapeSlack(value);
        break;
    }
  }
  const access: AccessType | undefined =
    keys && wantsConsole ? 'both' : keys ? 'keys' : wantsConsole ? 'console' : undefined;
  if (access) draft.accessType = access;
  if (tags.length) draft.tags = tags.join('\n');
  return { draft, problems, anyway, ...(like ? { like } : {}) };
}

/**
 * What the inline command left out that a request needs (each with the option that gives it), in the order the
 * usage line lists them; empty exactly when isDraftComplete holds.
 */
export function missingOptions(policy: { accounts: readonly { name: string }[] }, draft: CreateUserDraft): string[] {
  const missing: string[] = [];
  if (!draft.userName) missing.push('the user name (the first word)');
  if (!draft.groups?.length) missing.push('`--groups`');
  if (!draft.accessType) missing.push('`--keys` and/or `--console`');
  if (policy.accounts.length > 0 && !draft.account)
    missing.push(
      `\`--account\` (policy.yml names more than one account: home, ${policy.accounts.map((a) => a.name).join(', ')})`,
    );
  if (!draft.justification?.trim()) missing.push('`--reason`');
  return missing;
}
