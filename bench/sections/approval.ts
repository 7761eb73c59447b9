/**
 * Create-user approvals, measured in-process through the real Slack handler (signed requests), with IAM and
 * DynamoDB in moto and Slack's Web API on the recording fake: how fast an Approve click is acknowledged (Slack
 * gives 3 s), how fast the create-user form is checked (IAM reads on the ack path), and how long it takes from the
 * approval to the one-time link in the recipient's DMs. Network latency to real Slack and AWS is not included.
 */
import { logger } from '../../src/logger.js';
import { startTestBot } from '../../test/support/bot.js';
import { click, requestFor, submitForm, validForm } from '../../test/support/create-user.js';
import { ms, percentile, type Row, type Section } from '../lib.js';

export interface ApprovalBenchOptions {
  /** Approve clicks timed for the ack latency (at least 50). */
  clicks?: number;
  /** Clicks before timing starts. */
  warmup?: number;
  /** Full approvals timed until the link is delivered. */
  deliveries?: number;
}

const elapsed = async (fn: () => Promise<unknown>): Promise<number> => {
  const start = performance.now();
  await fn();
  return performance.now() - start;
};

/**
 * Runs the measurements on a bot of its own (moto started and stopped here) and returns one row per metric:
 * form check p50/p99, Approve ack p50/p99 (target: p99 within a third of Slack's 3 s), approval to link p50/max.
 */
export async function approvalBench(options: ApprovalBenchOptions = {}): Promise<Row[]> {
  const clicks = Math.max(50, options.clicks ?? 60);
  const warmup = options.warmup ?? 5;
  const deliveries = options.deliveries ?? 20;
  process.env.AWS_ACCESS_KEY_ID ??= 'bench';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'bench';
  const level = logger.getLevelName();
  logger.setLogLevel('SILENT');
  // As deployed (serverless.yml sets them): without them Bolt 5.1 calls auth.test before every request, which the
  // stand-in rate-limits as Slack does (tier 4), and the bench's ~2 requests a second would outrun it.
  const bot = await startTestBot({ env: { SLACK_BOT_ID: 'B0BENCH', SLACK_BOT_USER_ID: 'U0BENCHBOT' } });
  try {
    let n = 0;
    const newRequest = async () => {
      const userName = `bench-user-${++n}`;
      const took = await elapsed(() => submitForm(bot, validForm(userName)));
      return { request: await requestFor(bot, userName), took };
    };

    // Acks only: jobs are handed over but not run, as on Lambda where the worker is another function.
    bot.dispatcher.setRunner(async () => {});
    const formMs: number[] = [];
    const ackMs: number[] = [];
    for (let i = 0; i < warmup + clicks; i++) {
      const { request, took } = await newRequest();
      const ack = await elapsed(() => click(bot, request, 'U0APPROVER1'));
      if (i >= warmup) {
        formMs.push(took);
        ackMs.push(ack);
      }
    }

    // Approval to link: the worker runs in-process.
    const { runJob } = await import('../../src/jobs/worker.js');
    bot.dispatcher.setRunner((job) => runJob(bot.deps, job));
    const deliveryMs: number[] = [];
    for (let i = 0; i < deliveries; i++) {
      const { request } = await newRequest();
      // Nobody can click Approve before the approval message is posted: the submission's jobs (the post, the
      // approvers' App Homes) finish first, as they do long before a person clicks.
      await bot.drain();
      const start = Date.now();
      await click(bot, request, 'U0APPROVER1');
      await bot.drain();
      const dm = bot.slack
        .callsOf('chat.postMessage')
        .find((c) => c.args.channel === 'U0RECIPIENT' && JSON.stringify(c.args).includes(request.userName));
      if (!dm) throw new Error(`no link was delivered for ${request.userName}`);
      deliveryMs.push(dm.at - start);
    }

    const ackP99 = percentile(ackMs, 99);
    const formP99 = percentile(formMs, 99);
    const deliveryP50 = percentile(deliveryMs, 50);
    return [
      {
        metric: `create-user form submission with IAM checks, p50 of ${formMs.length}`,
        value: ms(percentile(formMs, 50)),
      },
      {
        metric: `create-user form submission with IAM checks, p99 of ${formMs.length}`,
        value: ms(formP99),
        target: '≤ 1,000 ms',
        met: formP99 <= 1000,
      },
      { metric: `Approve click ack, p50 of ${ackMs.length}`, value: ms(percentile(ackMs, 50)) },
      {
        metric: `Approve click ack, p99 of ${ackMs.length}`,
        value: ms(ackP99),
        target: '≤ 1,000 ms',
        met: ackP99 <= 1000,
      },
      {
        metric: `approval to one-time link delivered (worker in-process), p50 of ${deliveryMs.length}`,
        value: ms(deliveryP50),
        target: '≤ 300 ms',
        met: deliveryP50 <= 300,
      },
      {
        metric: `approval to one-time link delivered, slowest of ${deliveryMs.length}`,
        value: ms(Math.max(...deliveryMs)),
      },
    ];
  } finally {
    await bot.stop();
    logger.setLogLevel(level);
  }
}

/** The same as a bench/run.ts section. */
export const approvalSection: Section = { title: 'Create-user approvals', run: () => approvalBench() };
