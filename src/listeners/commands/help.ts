import { helpOf } from '../../blocks/command-help.js';
import { helpMessage } from '../../blocks/help.js';
import type { Subcommand } from './subcommand.js';

export const help: Subcommand = {
  ...helpOf('help'),
  async run({ ack, subcommands }) {
    await ack({ response_type: 'ephemeral', ...helpMessage([...subcommands]) });
  },
};
