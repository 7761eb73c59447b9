/**
 * The access review's DM under extreme but valid inputs: many users, each in IAM's maximum of 10 groups, every group
 * granting hundreds of used services, maximum-length IAM names. Every payload must pass the shared Slack-limit check.
 */
import { describe, expect, it } from 'vitest';
import {
  accessReviewMessage,
  accessReviewMessages,
  MAX_REVIEW_MESSAGES,
  parseReviewRef,
  type ReviewedUser,
} from '../../src/blocks/access-review.js';
import { REVIEW_REMOVE } from '../../src/blocks/ids.js';
import { slackPayloadProblems } from '../support/slack-limits.js';

const name = (prefix: string, i: number) => `${prefix}${i}`.padEnd(64, 'x').slice(0, 64);
const user = (i: number, used: boolean): ReviewedUser => ({
  account: 'home',
  userName: name('user', i),
  memberships: Array.from({ length: 10 }, (_, g) => ({
    group: name('group', g).slice(0, 128),
    used: used ? Array.from({ length: 300 }, (_, s) => `service-number-${s}`) : [],
  })),
  usedAny: used ? ['s3'] : [],
  deleteOffered: !used,
});

describe('the access review DM', () => {
  it('stays within Slack limits for 12 users of 10 groups each, in successive messages that show every user', () => {
    // Prepare
    const users = Array.from({ length: 12 }, (_, i) => user(i, i % 2 === 0));

    // Act
    const messages = accessReviewMessages('2026-12-07', 90, users);

    // Assess: 2 users (of 10 memberships) a message
    expect(messages).toHaveLength(6);
    for (const message of messages)
      expect(slackPayloadProblems('chat.postMessage', { channel: 'D0OWNER', ...message })).toEqual([]);
    const all = JSON.stringify(messages);
    for (const u of users) expect(all).toContain(u.userName);
    expect(JSON.stringify(messages[0]?.blocks)).toContain('And 10 more users: in the next message.');
  });

  it('sends at most MAX_REVIEW_MESSAGES messages to one owner and counts the users left for the next review', () => {
    // Prepare
    const users = Array.from({ length: 100 }, (_, i) => user(i, i % 2 === 0));

    // Act
    const messages = accessReviewMessages('2026-12-07', 90, users);

    // Assess
    expect(messages).toHaveLength(MAX_REVIEW_MESSAGES);
    for (const message of messages)
      expect(slackPayloadProblems('chat.postMessage', { channel: 'D0OWNER', ...message })).toEqual([]);
    expect(JSON.stringify(messages.at(-1)?.blocks)).toContain('And 80 more users, in the next review.');
  });

  it("names each button's membership in a value the listener reads back", () => {
    // Prepare
    const message = accessReviewMessage('2026-12-07', 90, [user(1, false)]);

    // Act
    const removes = (message.blocks as { elements?: { action_id: string; value: string }[] }[])
      .flatMap((b) => b.elements ?? [])
      .filter((e) => e.action_id === REVIEW_REMOVE)
      .map((e) => parseReviewRef(e.value));

    // Assess
    expect(removes).toHaveLength(10);
    expect(removes[0]).toEqual({ a: 'home', r: '2026-12-07', u: name('user', 1), g: name('group', 0) });
  });
});
