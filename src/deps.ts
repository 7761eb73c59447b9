/** What every part of the bot is given (built by src/build-deps.ts). Types only, so that anything may import it. */
import type { AwsAccounts } from './aws/accounts.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { JobDispatcher } from './jobs/types.js';
import type { Messenger } from './services/ports.js';
import type { Store, StoreOptions } from './store/index.js';

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
  /** The deps of the Slack function, which answers within Slack's 3 seconds: see slackWebClient's `answering`. */
  answeringSlack?: boolean;
}
