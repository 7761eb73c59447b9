import { helpOf } from '../../blocks/command-help.js';
import { esc } from '../../blocks/text.js';
import { userMessage, usersMessage } from '../../blocks/users.js';
import { userDetail, usersOwnedBy } from '../../services/user-lookup.js';
import { tokenize } from './create-user-args.js';
import type { Subcommand } from './subcommand.js';

const USERS_USAGE = helpOf('users').usage;
const USER_USAGE = helpOf('user').usage;

/** A Slack user id from a mention (`<@U123|alice>`, `<@U123>`) or a bare id. */
const mentioned = (word: string) =>
  (/^<@([UW][A-Z0-9]+)(\|[^>]*)?>$/.exec(word) ?? /^([UW][A-Z0-9]{2,})$/.exec(word))?.[1];

/** `/iam users [@someone]`: the IAM users someone owns (default: the caller), answered from the projection. */
export const users: Subcommand = {
  ...helpOf('users'),
  async run({ deps, args, command, ack }) {
    const words = tokenize(args);
    let owner: string | undefined = command.user_id;
    if (words.length === 1 && words[0]?.toLowerCase() === '--unowned') owner = undefined;
    else if (words.length === 1) {
      const id = mentioned(words[0] as string);
      if (!id) {
        await ack({
          response_type: 'ephemeral',
          text: `\`${esc(words[0] as string)}\` is not a Slack mention: type @ and pick the person.\nUsage: \`${USERS_USAGE}\``,
        });
        return;
      }
      owner = id;
    } else if (words.length > 1) {
      await ack({ response_type: 'ephemeral', text: `Usage: \`${USERS_USAGE}\`` });
      return;
    }
    const found = await usersOwnedBy(deps, owner);
    await ack({
      response_type: 'ephemeral',
      ...usersMessage({ owner, ...found, now: deps.clock.now(), keys: deps.config.policy.keys }),
    });
  },
};

/** `/iam user <name> [--account name]`: one IAM user in detail, with its owner and the requests that changed it. */
export const user: Subcommand = {
  ...helpOf('user'),
  async run({ deps, args, ack }) {
    const words = tokenize(args);
    let account = 'home';
    const names: string[] = [];
    for (let i = 0; i < words.length; i++) {
      const word = words[i] as string;
      if (word === '--account') account = words[++i] ?? '';
      else if (word.startsWith('--account=')) account = word.slice('--account='.length);
      else names.push(word);
    }
    const [name] = names;
    if (names.length !== 1 || !name) {
      await ack({ response_type: 'ephemeral', text: `Usage: \`${USER_USAGE}\`` });
      return;
    }
    if (!deps.aws.names.includes(account)) {
      await ack({
        response_type: 'ephemeral',
        text: `I know no account \`${esc(account)}\`. Accounts: ${deps.aws.names.map((n) => `\`${esc(n)}\``).join(', ')}.`,
      });
      return;
    }
    const found = await userDetail(deps, account, name);
    if (!found) {
      const paths = [...new Set([deps.config.policy.users.path, ...deps.config.policy.users.managedPaths])];
      await ack({
        response_type: 'ephemeral',
        text: `I know no IAM user \`${esc(name)}\` in *${esc(account)}* under the paths I manage (${paths.map((p) => `\`${esc(p)}\``).join(', ')}). My record of IAM is refreshed every 15 minutes.`,
      });
      return;
    }
    await ack({
      response_type: 'ephemeral',
      ...userMessage({ ...found, now: deps.clock.now(), keys: deps.config.policy.keys }),
    });
  },
};
