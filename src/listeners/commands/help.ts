import { helpMessage } from '../../blocks/help.js';
import type { Subcommand } from './subcommand.js';

export const help: Subcommand = {
  name: 'help',
  summary: 'lists what I can do.',
  usage: '/iam help',
  example: '/iam help',
  async run({ ack, subcommands }) {
    await ack({ response_type: 'ephemeral', ...helpMessage([...subcommands]) });
  },
};
