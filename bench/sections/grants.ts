/**
 * Temporary memberships at size (`npm run bench -- grants`): 1,000 active grants seeded straight into the requests
 * table (test/support/grants-at-size.ts), then one run of the one-minute task that ends them (`wake-due-runs`,
 * src/services/runner/sweep.ts) with none due, and with 10 due: its AWS calls per run, counted on the bot's clients.
 * The task reads only what is due: one Query of the sparse sweep index, then per due grant one consistent read and
 * the write that wakes its run.
 */
import { logger } from '../../src/logger.js';
import { startTestBot } from '../../test/support/bot.js';
import { minuteTaskCalls, seedGrants } from '../../test/support/grants-at-size.js';
import type { Row, Section } from '../lib.js';

const GRANTS = 1_000;
const DUE = 10;
const total = (calls: Record<string, number>) => Object.values(calls).reduce((a, b) => a + b, 0);
const listed = (calls: Record<string, number>) =>
  Object.entries(calls)
    .map(([k, v]) => `${v} ${k.replace('dynamodb:', '')}`)
    .join(', ');

export const grantsSection: Section = {
  title: `temporary memberships: the one-minute task with ${GRANTS.toLocaleString('en-US')} active grants`,
  async run(): Promise<Row[]> {
    process.env.AWS_ACCESS_KEY_ID ??= 'bench';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'bench';
    const level = logger.getLevelName();
    logger.setLogLevel('SILENT');
    const bot = await startTestBot();
    try {
      await seedGrants(bot, GRANTS, 0, 'running');
      const none = await minuteTaskCalls(bot);
      await seedGrants(bot, DUE, DUE, 'due');
      const due = await minuteTaskCalls(bot);
      return [
        {
          metric: `AWS calls per run, ${GRANTS.toLocaleString('en-US')} grants, none due`,
          value: `${total(none.calls)} (${listed(none.calls)})`,
          target: '1',
          met: total(none.calls) === 1,
        },
        {
          metric: `AWS calls per run, ${(GRANTS + DUE).toLocaleString('en-US')} grants, ${DUE} due`,
          value: `${total(due.calls)} (${listed(due.calls)}), ${due.woken} runs woken`,
          target: `<= ${1 + 2 * DUE}`,
          met: total(due.calls) <= 1 + 2 * DUE && due.woken === DUE,
        },
      ];
    } finally {
      await bot.stop();
      logger.setLogLevel(level);
    }
  },
};
