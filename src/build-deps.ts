import { randomBytes } from 'node:crypto';
import { AwsAccounts } from './aws/accounts.js';
import { systemClock } from './clock.js';
import type { Config } from './config.js';
import type { BuildOptions, Deps } from './deps.js';
import { InProcessJobDispatcher, LambdaJobDispatcher } from './jobs/dispatchers.js';
import { itemFieldsOf, reservesName } from './kinds/facts.js';
import { slackWebClient } from './slack/client.js';
import { SlackMessenger } from './slack/messenger.js';
import { lazyStore } from './store/lazy.js';

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
      createStore(
        {
          region: env.AWS_REGION,
          endpoint: env.AWS_ENDPOINT_URL_DYNAMODB ?? endpoint,
          prefix: env.TABLE_PREFIX,
          create: options.createTables ?? false,
          decorate: options.decorateDynamo,
        },
        { reservesName, itemFields: itemFieldsOf() },
      ),
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
    messenger: new SlackMessenger(
      slackWebClient(env, { answering: options.answeringSlack ?? false }),
      env.SLACK_TEAM_ID ? { teamId: env.SLACK_TEAM_ID } : {},
    ),
    dispatcher,
    randomToken: () => randomBytes(32).toString('base64url'),
    preload: async () => {
      await store.load();
    },
    ...options.overrides,
  };
}
