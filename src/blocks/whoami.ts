import type { AccountStatus } from '../services/accounts.js';
import { context, esc, section } from './text.js';

/** `/iam whoami`: the account the bot acts in, and every named account with whether its role works. */
export function whoamiMessage(accounts: AccountStatus[]) {
  const line = (a: AccountStatus) => {
    if (!a.ok)
      return `:x: *${esc(a.name)}*${a.roleArn ? ` via \`${esc(a.roleArn)}\`` : ''}: ${esc(a.problem ?? 'unavailable')}`;
    const alias = a.alias ? ` (${esc(a.alias)})` : '';
    return `:white_check_mark: *${esc(a.name)}*: account \`${a.account}\`${alias}, acting as \`${esc(a.arn ?? '')}\``;
  };
  const home = accounts.find((a) => a.name === 'home');
  return {
    text: home?.ok ? `I act in account ${home.account} as ${home.arn}` : 'I cannot reach AWS',
    blocks: [section(accounts.map(line).join('\n')), context('Named accounts come from the access policy (accounts).')],
  };
}
