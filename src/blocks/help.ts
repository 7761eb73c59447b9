import { context, esc, section, sections } from './text.js';

export interface CommandHelp {
  name: string;
  summary: string;
  usage: string;
  example: string;
}

/** `/iam help`: every subcommand with an example. */
export function helpMessage(commands: CommandHelp[]) {
  const lines = commands.map((c) => `*\`/iam ${c.name}\`* ${esc(c.summary)}\n      e.g. \`${esc(c.example)}\``);
  return {
    text: `IAM bot commands: ${commands.map((c) => c.name).join(', ')}`,
    blocks: [
      section(
        '*Manage AWS IAM users from Slack.* Every change is approved in the approval channel; credentials arrive as one-time links, never in chat.',
      ),
      // packed into as many sections as Slack's 3,000 characters a section need (the list outgrew one)
      ...sections(lines),
      context('Usage: `/iam <command> [arguments]`'),
    ],
  };
}

/** The answer to an unknown subcommand, with the closest known one. */
export function unknownCommandMessage(given: string, suggestion: string | undefined) {
  const hint = suggestion ? ` Did you mean \`/iam ${suggestion}\`?` : '';
  return { text: `I don't know \`/iam ${esc(given)}\`.${hint} Try \`/iam help\` for the list.` };
}
