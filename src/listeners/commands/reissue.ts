import { helpOf } from '../../blocks/command-help.js';
import { esc } from '../../blocks/text.js';
import { latestDeliveryOf, requestReissue } from '../../services/kinds/reissue.js';
import type { Subcommand } from './subcommand.js';

const USAGE = helpOf('reissue').usage;

/** `/iam reissue`: an approver replaces credentials nobody received (lost or expired link) with a fresh key and link. */
export const reissue: Subcommand = {
  ...helpOf('reissue'),
  async run({ deps, args, command, ack }) {
    const words = args.trim().split(/\s+/).filter(Boolean);
    const accountAt = words.indexOf('--account');
    const account = accountAt >= 0 ? words[accountAt + 1] : undefined;
    const target = words.find((_, i) => accountAt < 0 || (i !== accountAt && i !== accountAt + 1)) ?? '';
    let id = target;
    if (!/^req-[A-Za-z0-9]{1,40}$/.test(target)) {
      // An IAM user: its newest request that delivered credentials, from the ownership projection.
      const found = /^[\w+=,.@-]{1,64}$/.test(target)
        ? await latestDeliveryOf(deps, account ?? 'home', target)
        : undefined;
      if (!found) {
        await ack({
          response_type: 'ephemeral',
          text: `I know no request that sent credentials for \`${esc(target)}\`${account ? ` in ${esc(account)}` : ''}.\nUsage: \`${esc(USAGE)}\``,
        });
        return;
      }
      id = found;
    }
    await requestReissue(deps, id, command.user_id, command.response_url);
    await ack({ response_type: 'ephemeral', text: `Replacing the undelivered credentials of \`${id}\`…` });
  },
};
