import type { FailedJob } from '../store/jobs.js';
import { JOB_RERUN } from './ids.js';
import { context, esc, section } from './text.js';

/** What a failed job's request says now (empty for a job about no request). */
export interface FailedJobState {
  requestId?: string;
  kind?: string;
  status?: string;
  userName?: string;
  account?: string;
}

const stateText = (s: FailedJobState) => {
  if (!s.requestId) return 'It was about no request.';
  if (!s.kind) return `It was for request \`${esc(s.requestId)}\`, which is no longer on record.`;
  return `It was for request \`${esc(s.requestId)}\` (${esc(s.kind)} of IAM user \`${esc(s.userName ?? '?')}\` in ${esc(s.account ?? 'home')}), which is now *${esc(s.status ?? '?')}*.`;
};

const jobLine = (job: Pick<FailedJob, 'id' | 'type' | 'attempts' | 'error'>) =>
  `\`${esc(job.type)}\` job \`${esc(job.id)}\` failed ${job.attempts} times (${esc(job.error)})`;

/** The approval channel's notice that Lambda gave up on a job, and what state it left. */
export function failedJobNotice(job: Pick<FailedJob, 'id' | 'type' | 'attempts' | 'error'>, state: FailedJobState) {
  const text = `:warning: ${jobLine(job)} and Lambda gave up on it. ${stateText(state)}`;
  return {
    text,
    blocks: [section(text), context('An approver can re-run it from `/iam jobs` once the cause is fixed.')],
  };
}

/** `/iam jobs`: one page of failed jobs, newest first, each with Re-run. */
export function failedJobsMessage(entries: { job: FailedJob; state: FailedJobState }[], page: number, more: boolean) {
  if (entries.length === 0)
    return {
      text: page > 1 ? `No failed jobs on page ${page}.` : 'No failed jobs: every job ran or was re-run to success.',
    };
  const blocks: unknown[] = [section(`*Failed jobs* (newest first, page ${page})`)];
  for (const { job, state } of entries) {
    const rerun = job.rerunBy ? `\nRe-run by <@${esc(job.rerunBy)}>, under way.` : '';
    blocks.push({
      ...section(`${jobLine(job)}, last at ${esc(job.gaveUpAt)}.\n${stateText(state)}${rerun}`),
      ...(job.rerunBy
        ? {}
        : {
            accessory: {
              type: 'button',
              action_id: JOB_RERUN,
              text: { type: 'plain_text', text: 'Re-run' },
              value: job.id.slice(0, 2000),
              confirm: {
                title: { type: 'plain_text', text: 'Re-run this job?' },
                text: { type: 'plain_text', text: `Runs ${job.type} job ${job.id} again.`.slice(0, 300) },
                confirm: { type: 'plain_text', text: 'Re-run' },
                deny: { type: 'plain_text', text: 'Cancel' },
              },
            },
          }),
    });
  }
  if (more) blocks.push(context(`More failed jobs: \`/iam jobs --page ${page + 1}\``));
  return { text: `${entries.length} failed jobs (page ${page})`, blocks };
}
