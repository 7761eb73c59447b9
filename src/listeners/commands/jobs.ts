import { helpOf } from '../../blocks/command-help.js';
import { listFailedJobs } from '../../services/failed-jobs.js';
import type { Subcommand } from './subcommand.js';

const USAGE = helpOf('jobs').usage;

/** Parses `--page n` (default 1); undefined when the arguments are anything else. */
export function pageArg(args: string): { page: number; rest: string } | undefined {
  const m = /(?:^|\s)--page\s+(\d{1,4})(?=\s|$)/.exec(args);
  const page = m ? Number(m[1]) : 1;
  if (page < 1) return undefined;
  return { page, rest: (m ? args.replace(m[0], ' ') : args).trim() };
}

/** `/iam jobs`: approvers see the jobs Lambda gave up on, and re-run one. */
export const jobs: Subcommand = {
  ...helpOf('jobs'),
  async run({ deps, args, command, ack }) {
    const parsed = pageArg(args);
    if (!parsed || parsed.rest) {
      await ack({ response_type: 'ephemeral', text: `Usage: \`${USAGE}\`` });
      return;
    }
    await ack({ response_type: 'ephemeral', ...(await listFailedJobs(deps, command.user_id, parsed.page)) });
  },
};
