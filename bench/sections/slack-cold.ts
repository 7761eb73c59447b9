/**
 * A whole cold start of the Slack handler, as a user waits for it: module initialisation, then the first request,
 * in fresh `node` processes. The store (dynamoose, the DynamoDB client, the models) loads on the first request that
 * needs it (src/store/lazy.ts); this shows what that first request pays: an Approve click for a request that does
 * not exist, which loads the store and reads DynamoDB once (a local moto server; the tables are created first, as
 * serverless.yml declares them on AWS).
 */
import path from 'node:path';
import { buildDeps } from '../../src/build-deps.js';
import { loadConfig } from '../../src/config.js';
import { FakeSlack } from '../../src/local/fake-slack.js';
import { startMoto } from '../../src/local/moto.js';
import { bundleEnv, median, ms, probe, type Row, root, type Section } from '../lib.js';

const RUNS = 7;

interface FirstRequest {
  initMs: number;
  firstMs: number;
  body: string;
}

export const slackCold: Section = {
  title: 'Slack handler cold start, to the first answer',
  async run(): Promise<Row[]> {
    const bundle = path.join(root, 'dist', 'slack', 'index.cjs');
    const [moto, slack] = await Promise.all([startMoto(), new FakeSlack().start()]);
    try {
      const env: NodeJS.ProcessEnv = {
        ...bundleEnv(),
        AWS_ENDPOINT_URL: moto.url,
        TABLE_PREFIX: 'bench-cold-',
        SLACK_API_URL: slack.url,
        BENCH_RESPONSE_URL: slack.responseUrl('cold'),
      };
      // The tables, created the way local runs create them (the Lambda's own store never creates tables), with the
      // bench's dummy credentials: only the local moto server is ever called.
      process.env.AWS_ACCESS_KEY_ID ??= env.AWS_ACCESS_KEY_ID;
      process.env.AWS_SECRET_ACCESS_KEY ??= env.AWS_SECRET_ACCESS_KEY;
      await buildDeps(loadConfig(env), { createTables: true }).store.requests.get('none');

      const help: FirstRequest[] = [];
      const click: FirstRequest[] = [];
      for (let i = 0; i < RUNS; i++) {
        help.push(await probe<FirstRequest>('first-request.cjs', [bundle, 'help']));
        click.push(await probe<FirstRequest>('first-request.cjs', [bundle, 'click'], env));
      }
      const total = (r: FirstRequest) => r.initMs + r.firstMs;
      return [
        { metric: `init + first /iam help (no AWS), median of ${RUNS}`, value: ms(median(help.map(total))) },
        { metric: '   of which the /iam help request', value: ms(median(help.map((r) => r.firstMs))) },
        {
          metric: `init + first Approve click (loads the store, reads DynamoDB), median of ${RUNS}`,
          value: ms(median(click.map(total))),
        },
        { metric: '   of which the click', value: ms(median(click.map((r) => r.firstMs))) },
      ];
    } finally {
      await Promise.all([moto.stop(), slack.stop()]);
    }
  },
};
