import { auditMessage } from '../../blocks/audit.js';
import { helpOf } from '../../blocks/command-help.js';
import { esc } from '../../blocks/text.js';
import type { Deps } from '../../deps.js';
import { type AuditTarget, auditTrail } from '../../services/audit-trail.js';
import type { OutgoingMessage } from '../../services/ports.js';
import { pageArg } from './jobs.js';
import type { Subcommand } from './subcommand.js';

const USAGE = helpOf('audit').usage;

/** The target and page of `/iam audit` arguments, or undefined when they are not understood. */
export function parseAuditArgs(
  args: string,
  accounts: readonly string[],
): { target: AuditTarget; page: number; argsFor: (page: number) => string } | undefined {
  const paged = pageArg(args);
  if (!paged) return undefined;
  const words = paged.rest.split(/\s+/).filter(Boolean);
  let account = 'home';
  const rest: string[] = [];
  for (let i = 0; i < words.length; i++) {
    if (words[i] === '--account') account = words[++i] ?? '';
    else rest.push(words[i] as string);
  }
  const [word] = rest;
  if (rest.length !== 1 || !word || !accounts.includes(account)) return undefined;
  const mention = (/^<@([UW][A-Z0-9]+)(\|[^>]*)?>$/.exec(word) ?? /^([UW][A-Z0-9]{2,})$/.exec(word))?.[1];
  let target: AuditTarget;
  if (/^req-[A-Za-z0-9]{1,40}$/.test(word)) target = { kind: 'request', requestId: word };
  else if (mention) target = { kind: 'actor', actor: mention };
  else if (/^[\w+=,.@-]{1,64}$/.test(word)) target = { kind: 'user', account, userName: word };
  else return undefined;
  const base = mention ? `<@${mention}>` : `${word}${account !== 'home' ? ` --account ${account}` : ''}`;
  return { target, page: paged.page, argsFor: (page) => `${base} --page ${page}` };
}

const titleOf = (t: AuditTarget) =>
  t.kind === 'request'
    ? `Audit trail of request ${t.requestId}`
    : t.kind === 'actor'
      ? `What <@${t.actor}> did`
      : `Audit trail of IAM user ${t.userName} (${t.account})`;

/** `/iam audit …` answered: one page of the trail, or why not. Shared by the command and its More button. */
export async function auditAnswer(deps: Deps, viewer: string, args: string): Promise<OutgoingMessage> {
  const parsed = parseAuditArgs(args, deps.aws.names);
  if (!parsed) return { text: `Usage: \`${USAGE}\`` };
  const { events, more, known } = await auditTrail(deps, viewer, parsed.target, parsed.page);
  if (!known)
    return {
      text:
        parsed.target.kind === 'user'
          ? `I know no IAM user \`${esc(parsed.target.userName)}\` in *${esc(parsed.target.account)}*.`
          : `I have no audit events of \`${esc(args.trim())}\`.`,
    };
  return auditMessage(titleOf(parsed.target), events, parsed.page, more, parsed.argsFor(parsed.page + 1));
}

/** `/iam audit`: approvers read the audit trail of an IAM user, a person or a request, newest first, paged. */
export const audit: Subcommand = {
  ...helpOf('audit'),
  async run({ deps, args, command, ack }) {
    await ack({ response_type: 'ephemeral', ...(await auditAnswer(deps, command.user_id, args)) });
  },
};
