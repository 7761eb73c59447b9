import { randomBytes } from 'node:crypto';
import { AwsAccounts } from './aws/accounts.js';
import { type Clock, systemClock } from './clock.js';
import type { Config } from './config.js';
import { InProcessJobDispatcher, LambdaJobDispatcher } from './jobs/dispatchers.js';
import type { JobDispatcher } from './jobs/types.js';
import type { Messenger } from './services/ports.js';
import { slackWebClient } from './slack/client.js';
import { SlackMessenger } from './slack/messenger.js';
import type { Store, StoreOptions } from './store/index.js';
import { lazyStore } from './store/lazy.js';

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
  /** Loads now what otherwise loads on first use (the store, see src/store/lazy.ts). */
  preload(): Promise<void>;
}

export interface BuildOptions {
  /** Create missing DynamoDB tables (local runs and tests). */
  createTables?: boolean;
  /** Called with the DynamoDB client when the store loads, e.g. to add SDK middleware (tests). */
  decorateDynamo?: StoreOptions['decorate'];
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
  // DynamoDB (dynamoose and the models) loads on the first store call, not at cold start: see src/store/lazy.ts.
  const store = lazyStore(() =>
    import('./store/index.js').then(({ createStore }) =>
      createStore({
        region: env.AWS_REGION,
        endpoint,
        prefix: env.TABLE_PREFIX,
        create: options.createTables ?? false,
        decorate: options.decorateDynamo,
      }),
    ),
  );
  const dispatcher =
    options.overrides?.dispatcher ??
    (env.WORKER_FUNCTION_NAME
      ? new LambdaJobDispatcher({ region: env.AWS_REGION, ...(endpoint ? { endpoint } : {}) }, env.WORKER_FUNCTION_NAME)
      : new InProcessJobDispatcher());
  return {
    config,
    clock,
    aws: new AwsAccounts({ region: env.AWS_REGION, endpoint, accounts: policy.accounts, clock }),
    store: store.store,
    messenger: new SlackMessenger(slackWebClient(env)),
    dispatcher,
    randomToken: () => randomBytes(32).toString('base64url'),
    preload: async () => {
      await store.load();
    },
    ...options.overrides,
  };
}
