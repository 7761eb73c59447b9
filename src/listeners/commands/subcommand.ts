import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import type { CommandHelp } from '../../blocks/help.js';
import type { Deps } from '../../deps.js';

export type CommandArgs = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

export interface SubcommandContext {
  deps: Deps;
  /** The text after the subcommand name. */
  args: string;
  command: CommandArgs['command'];
  ack: CommandArgs['ack'];
  client: CommandArgs['client'];
  respond: CommandArgs['respond'];
  /** Every subcommand, for help. */
  subcommands: readonly Subcommand[];
}

/** One `/iam <name>` subcommand. `run` must ack within Slack's 3 s and hand slow work to the dispatcher. */
export interface Subcommand extends CommandHelp {
  run(ctx: SubcommandContext): Promise<void>;
}
