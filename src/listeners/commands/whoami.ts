import { helpOf } from '../../blocks/command-help.js';
import type { Subcommand } from './subcommand.js';

export const whoami: Subcommand = {
  ...helpOf('whoami'),
  async run({ ack, command, deps }) {
    // An empty ack, no "Checking…": a slash command's response_url cannot replace the ack's message (replace_original
    // adds one, bolt-js#2287), so a placeholder would stay above the answer. The worker's one answer is all it shows.
    await ack();
    await deps.dispatcher.dispatch({
      id: `whoami:${command.trigger_id}`,
      type: 'whoami',
      payload: { responseUrl: command.response_url, user: command.user_id },
    });
  },
};
