import { helpOf } from '../../blocks/command-help.js';
import type { Subcommand } from './subcommand.js';

export const whoami: Subcommand = {
  ...helpOf('whoami'),
  async run({ ack, command, deps }) {
    await ack({ response_type: 'ephemeral', text: 'Checking which AWS accounts I can act in…' });
    await deps.dispatcher.dispatch({
      id: `whoami:${command.trigger_id}`,
      type: 'whoami',
      payload: { responseUrl: command.response_url },
    });
  },
};
