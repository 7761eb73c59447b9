/**
 * The daily check of owners at 2,000 owners (`npm run bench -- users.list`): Slack calls a day of the users.list walk
 * (src/services/owner-check.ts, measured through the bot's Web API client and SlackMessenger against the strict Slack
 * stand-in with its rate limits on) against users.info per owner, the way main checked them before (at most
 * MAX_LOOKUPS a run, in the same order every day). The minutes each needs of its method's rate-limit budget are
 * played on a virtual clock through the stand-in's own RateLimits (the Web API client would wait them in real time).
 */

import { FakeSlack, RateLimits } from '../../src/local/fake-slack.js';
import { MAX_LOOKUPS } from '../../src/services/slack-members.js';
import { slackWebClient } from '../../src/slack/client.js';
import { SlackMessenger } from '../../src/slack/messenger.js';
import type { Row, Section } from '../lib.js';

const OWNERS = 2_000;
const PAGE = 200;

/** Minutes of `method`'s rate limit that `calls` calls in a row need (the stand-in's limits, a virtual clock). */
function minutesOf(method: string, calls: number): number {
  const limits = new RateLimits();
  let t = 0;
  for (let i = 0; i < calls; i++) {
    for (let wait = limits.check(method, {}, t); wait !== undefined; wait = limits.check(method, {}, t))
      t += wait * 1000;
  }
  return t / 60_000;
}

export const ownerCheckSection: Section = {
  title: `daily check of ${OWNERS.toLocaleString('en-US')} owners: users.list walk vs users.info per owner, strict Slack stand-in`,
  async run(): Promise<Row[]> {
    const slack = await new FakeSlack().start();
    try {
      const owners = Array.from({ length: OWNERS }, (_, i) => `U0OWN${String(i).padStart(5, '0')}`);
      slack.members.add(...owners).deactivate(owners[OWNERS - 1] as string);
      const messenger = new SlackMessenger(slackWebClient({ SLACK_BOT_TOKEN: 'xoxb-bench', SLACK_API_URL: slack.url }));
      const unseen = new Set(owners);
      let gone = 0;
      let cursor: string | undefined;
      do {
        const page = await messenger.listMembers({ limit: PAGE, ...(cursor ? { cursor } : {}) });
        for (const m of page.members) if (unseen.delete(m.id) && m.status === 'deleted') gone++;
        cursor = page.next;
      } while (cursor);
      const walkCalls = slack.callsOf('users.list').length;
      const limited = [...slack.limits.limited.values()].reduce((a, b) => a + b, 0);
      const infoMinutes = minutesOf('users.info', OWNERS);
      const partsOf = (minutes: number) => Math.max(1, Math.ceil((minutes * 60) / 40));
      return [
        {
          metric: `users.list walk: Slack calls a day (200 a page; ${slack.members.size} members with the bot user)`,
          value: String(walkCalls),
          target: `<= ${Math.ceil(slack.members.size / PAGE)}`,
          met: walkCalls <= Math.ceil(slack.members.size / PAGE),
        },
        {
          metric: 'users.list walk: owners covered a day',
          value: `${(OWNERS - unseen.size).toLocaleString('en-US')} of ${OWNERS.toLocaleString('en-US')} (${(((OWNERS - unseen.size) / OWNERS) * 100).toFixed(0)}%)`,
          target: '100%',
          met: unseen.size === 0,
        },
        {
          metric: 'users.list walk: deactivated owners found (1 planted)',
          value: String(gone),
          target: '1',
          met: gone === 1,
        },
        { metric: 'users.list walk: calls answered 429', value: String(limited), target: '0', met: limited === 0 },
        {
          metric: 'users.list walk: minutes of tier-2 budget (20 a minute, burst 20)',
          value: minutesOf('users.list', walkCalls).toFixed(1),
        },
        { metric: 'users.info per owner: Slack calls a day', value: OWNERS.toLocaleString('en-US') },
        {
          metric: 'users.info per owner: minutes of tier-4 budget (100 a minute, burst 100)',
          value: `${infoMinutes.toFixed(1)} (${partsOf(infoMinutes)} worker parts of 40 s)`,
        },
        {
          metric: `main before: users.info a day (at most MAX_LOOKUPS = ${MAX_LOOKUPS} a run, same order daily)`,
          value: `${MAX_LOOKUPS}, owners ever checked ${MAX_LOOKUPS} of ${OWNERS} (${((MAX_LOOKUPS / OWNERS) * 100).toFixed(0)}%)`,
        },
      ];
    } finally {
      await slack.stop();
    }
  },
};
