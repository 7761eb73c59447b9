import { randomBytes } from 'node:crypto';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { AwsAccounts } from './aws/accounts.js';
import { type Clock, systemClock } from './clock.js';
import type { Config } from './config.js';
import { InProcessJobDispatcher, LambdaJobDispatcher } from './jobs/dispatchers.js';
import type { JobDispatcher } from './jobs/types.js';
import type { Messenger } from './services/ports.js';
import { slackWebClient } from './slack/client.js';
import { SlackMessenger } from './slack/messenger.js';
import { createStore, type Store } from './store/index.js';

/** Everything the listeners, services and jobs need, built once per process and injected. */
export interface Deps {
  config: Config;
  clock: Clock;
  aws: AwsAccounts;
  store: Store;
  messenger: Messenger;
  dispatcher: JobDispatcher;
  /** A URL-safe random token of 256 bits (one-time links). */
  randomToken(): string;
}

export interface BuildOptions {
  /** Create missing DynamoDB tables (local runs and tests). */
  createTables?: boolean;
  overrides?: Partial<Deps>;
}

/**
 * Builds the production dependencies from configuration. Makes no network call. Without WORKER_FUNCTION_NAME jobs
 * run in-process: the caller wires the runner (see src/local/dev.ts), so Lambda's Slack bundle never contains the
 * worker's code.
 */
export function buildDeps(config: Config, options: BuildOptions = {}): Deps {
  const { env, policy } = config;
  const clock = options.overrides?.clock ?? systemClock;
  const endpoint = env.AWS_ENDPOINT_URL;
  const dispatcher =
    options.overrides?.dispatcher ??
    (env.WORKER_FUNCTION_NAME
      ? new LambdaJobDispatcher(
          new LambdaClient({ region: env.AWS_REGION, ...(endpoint ? { endpoint } : {}) }),
          env.WORKER_FUNCTION_NAME,
        )
      : new InProcessJobDispatcher());
  return {
    config,
    clock,
    aws: new AwsAccounts({ region: env.AWS_REGION, endpoint, accounts: policy.accounts, clock }),
    store: createStore({
      region: env.AWS_REGION,
      endpoint,
      prefix: env.TABLE_PREFIX,
      create: options.createTables ?? false,
    }),
    messenger: new SlackMessenger(slackWebClient(env)),
    dispatcher,
    randomToken: () => randomBytes(32).toString('base64url'),
    ...options.overrides,
  };
}
