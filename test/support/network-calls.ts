/**
 * Counting the network calls an interaction makes before the Slack function answers: every AWS SDK call (SDK
 * middleware on every client the bot builds, DynamoDB's included), every Slack Web API call and response_url post
 * (the recording fake Slack), and every hand-off to the worker (on Lambda one `lambda:Invoke`; here the in-process
 * dispatcher, held until the handler has answered so that no job's calls are counted).
 */

import type { HttpResult } from '../../src/http/types.js';
import type { Job } from '../../src/jobs/types.js';
import type { TestBot } from './bot.js';

/** One AWS API call, as `service:Action` (e.g. `dynamodb:GetItem`). */
export type AwsCall = string;

type Handler = (args: { input: unknown }) => Promise<unknown>;
interface MiddlewareClient {
  middlewareStack: {
    add(
      middleware: (next: Handler, context: { clientName?: string; commandName?: string }) => Handler,
      options: { step: 'initialize'; name: string },
    ): void;
  };
}

/** SDK middleware that appends every call a client makes to `log` (as `service:Action`). */
export function recordAwsCalls(log: AwsCall[]) {
  return (client: unknown): void => {
    (client as MiddlewareClient).middlewareStack.add(
      (next, context) => async (args) => {
        const service = (context.clientName ?? 'unknown').replace(/Client$/, '').toLowerCase();
        log.push(`${service}:${(context.commandName ?? 'unknown').replace(/Command$/, '')}`);
        return next(args);
      },
      { step: 'initialize', name: 'recordAwsCalls' },
    );
  };
}

export interface CallsBeforeAnswer {
  /** The handler's answer to Slack. */
  result: HttpResult;
  aws: AwsCall[];
  /** Slack Web API methods (and `response_url`) called. */
  slack: string[];
  /** Job types handed to the worker. */
  handOffs: string[];
  /** Every network call before the answer: aws + slack + hand-offs. */
  total: number;
  /** DynamoDB writes among them (PutItem, UpdateItem, DeleteItem, TransactWriteItems). */
  writes: number;
}

const WRITES = /^dynamodb:(PutItem|UpdateItem|DeleteItem|TransactWriteItems|BatchWriteItem)$/;

/**
 * Runs `interaction` (one signed request through the Slack handler) and returns the network calls it made before
 * its answer. Jobs it hands off are held until it has answered, then run; previous jobs are drained first.
 */
export async function callsBeforeAnswer(
  bot: TestBot,
  interaction: () => Promise<HttpResult | { result: HttpResult }>,
): Promise<CallsBeforeAnswer> {
  await bot.drain();
  const real = bot.deps.dispatcher;
  const held: Job[] = [];
  bot.deps.dispatcher = { dispatch: async (job) => void held.push(job) };
  const awsFrom = bot.awsCalls.length;
  const slackFrom = bot.slack.calls.length;
  let answered: HttpResult | { result: HttpResult };
  try {
    answered = await interaction();
  } finally {
    bot.deps.dispatcher = real;
  }
  const aws = bot.awsCalls.slice(awsFrom);
  const slack = bot.slack.calls.slice(slackFrom).map((c) => c.method);
  for (const job of held) await real.dispatch(job);
  await bot.drain();
  const result = 'result' in answered ? answered.result : answered;
  return {
    result,
    aws,
    slack,
    handOffs: held.map((j) => j.type),
    total: aws.length + slack.length + held.length,
    writes: aws.filter((c) => WRITES.test(c)).length,
  };
}
