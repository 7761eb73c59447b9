import { esc } from '../../blocks/text.js';
import { requestReissue } from '../../services/kinds/reissue.js';
import type { Subcommand } from './subcommand.js';

const USAGE = '/iam reissue <request-id>';

/** `/iam reissue`: an approver replaces credentials nobody received (lost or expired link) with a fresh key and link. */
export const reissue: Subcommand = {
  name: 'reissue',
  summary:
    'approvers: replaces an access key whose one-time link was never opened (lost or expired) with a fresh key and a new link; the undelivered key is deleted.',
  usage: USAGE,
  example: '/iam reissue req-abc123',
  async run({ deps, args, command, ack }) {
    const id = args.trim();
    if (!/^req-[A-Za-z0-9]{1,40}$/.test(id)) {
      await ack({ response_type: 'ephemeral', text: `Name the request.\nUsage: \`${esc(USAGE)}\`` });
      return;
    }
    const job = await requestReissue(deps, id, command.user_id, command.response_url);
    await deps.dispatcher.dispatch(job);
    await ack({ response_type: 'ephemeral', text: `Replacing the undelivered credentials of \`${id}\`…` });
  },
};
