import type { Subcommand } from './subcommand.js';

export const whoami: Subcommand = {
  name: 'whoami',
  summary: 'shows the AWS account and identity I act as, and whether I can assume the role of each named account.',
  usage: '/iam whoami',
  example: '/iam whoami',
  async run({ ack, command, deps }) {
    await ack({ response_type: 'ephemeral', text: 'Checking which AWS accounts I can act in…' });
    await deps.dispatcher.dispatch({
      id: `whoami:${command.trigger_id}`,
      type: 'whoami',
      payload: { responseUrl: command.response_url },
    });
  },
};
