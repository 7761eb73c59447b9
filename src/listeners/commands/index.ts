import type { App } from '@slack/bolt';
import { COMMAND_HELP } from '../../blocks/command-help.js';
import { unknownCommandMessage } from '../../blocks/help.js';
import type { Deps } from '../../deps.js';
import { BotError } from '../../errors.js';
import { logger } from '../../logger.js';
import { closestName } from '../../services/closest.js';
import { audit } from './audit.js';
import { createUser } from './create-user.js';
import { deleteUser } from './delete-user.js';
import { addToGroup, removeFromGroup } from './group-membership.js';
import { help } from './help.js';
import { jobs } from './jobs.js';
import { offboard } from './offboard.js';
import { reissue } from './reissue.js';
import { report } from './report.js';
import { rotateKey } from './rotate-key.js';
import { setOwner } from './set-owner.js';
import type { Subcommand } from './subcommand.js';
import { user, users } from './users.js';
import { whoami } from './whoami.js';

/** Every `/iam` subcommand's listener. New subcommands plug in here (a kind's: its listener, named by its id). */
const listeners: readonly Subcommand[] = [
  help,
  whoami,
  createUser,
  addToGroup,
  removeFromGroup,
  setOwner,
  rotateKey,
  offboard,
  deleteUser,
  reissue,
  users,
  user,
  jobs,
  audit,
  report,
];

/** Every `/iam` subcommand, in the order help lists them (COMMAND_HELP: a kind's command where the registry puts it). */
export const subcommands: readonly Subcommand[] = COMMAND_HELP.flatMap((h) =>
  listeners.filter((l) => l.name === h.name),
);

/** The `/iam` router: picks the subcommand, answers unknown ones with the closest known name. */
export function registerCommands(app: App, deps: Deps): void {
  app.command('/iam', async ({ command, ack, client, respond }) => {
    const text = command.text.trim();
    const match = /^(\S*)\s*([\s\S]*)$/.exec(text);
    const name = (match?.[1] || 'help').toLowerCase();
    const sub = subcommands.find((s) => s.name === name);
    if (!sub) {
      const suggestion = closestName(
        name,
        subcommands.map((s) => s.name),
      );
      await ack({ response_type: 'ephemeral', ...unknownCommandMessage(name, suggestion) });
      return;
    }
    let acked = false;
    const trackedAck: typeof ack = async (response) => {
      acked = true;
      await ack(response);
    };
    try {
      await sub.run({ deps, args: match?.[2] ?? '', command, ack: trackedAck, client, respond, subcommands });
    } catch (error) {
      const message =
        error instanceof BotError ? error.message : 'Something went wrong; nothing was changed. Try again.';
      if (!(error instanceof BotError))
        logger.error('Command failed', { subcommand: name, errorName: (error as Error)?.name });
      if (!acked) await ack({ response_type: 'ephemeral', text: message });
      else await respond({ response_type: 'ephemeral', text: message });
    }
  });
}
