/**
 * The access review's DM to one owner (src/services/access-review.ts): per user, each group membership with the
 * services it grants that the user used in the period, and those with nothing used, with Keep and Remove; Delete for a
 * user with no activity at all. Pure functions.
 */
import * as z from 'zod/mini';
import { parseButtonValue } from './button-value.js';
import { REVIEW_DELETE, REVIEW_KEEP, REVIEW_REMOVE } from './ids.js';
import { esc } from './text.js';

/** One group membership of a reviewed user: the services the group grants that the user used in the period. */
export interface ReviewedMembership {
  group: string;
  used: string[];
}

/** One reviewed user of an owner. */
export interface ReviewedUser {
  account: string;
  userName: string;
  memberships: ReviewedMembership[];
  /** Services the user used in the period, through any of its policies. */
  usedAny: string[];
  /** Whether to offer Delete (no activity at all, and not answered yet). */
  deleteOffered: boolean;
}

/** What a review button names (the decision is made from stored state, never from this). */
const refSchema = z.object({
  a: z.string(),
  r: z.string(),
  u: z.string(),
  g: z.optional(z.string()),
});
export type ReviewRef = z.infer<typeof refSchema>;

export const reviewButtonValue = (ref: ReviewRef): string => JSON.stringify(ref);
export const parseReviewRef = (raw: string | undefined): ReviewRef | undefined => parseButtonValue(refSchema, raw);

const code = (s: string) => `\`${esc(s)}\``;
/** Slack's limit on a message's blocks. */
const MAX_BLOCKS = 50;
/** Services named per membership (a section holds 3,000 characters): the rest are counted. */
const MAX_SERVICES = 25;
const serviceList = (used: string[]) =>
  used.length > MAX_SERVICES
    ? `${used.slice(0, MAX_SERVICES).map(code).join(', ')} and ${used.length - MAX_SERVICES} more`
    : used.map(code).join(', ');

/** The review DM, within Slack's 50 blocks: the users beyond are counted (they come again in the next review). */
export function accessReviewMessage(round: string, periodDays: number, users: ReviewedUser[]) {
  const blocks: unknown[] = [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*Access review* of the IAM users you own: what each group membership was used for in the last ${periodDays} days. Keep what is needed, remove the rest.`,
      },
    },
  ];
  let shown = 0;
  for (const u of users) {
    // a user's blocks: its line, and two per membership (IAM allows 10 groups a user: at most 21); one left for the
    // count of those beyond, within Slack's 50
    if (blocks.length + 1 + 2 * u.memberships.length > MAX_BLOCKS - 1) break;
    shown++;
    const where = u.account === 'home' ? '' : ` (${esc(u.account)})`;
    if (u.deleteOffered) {
      blocks.push({
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `${code(u.userName)}${where}: *no activity* in ${periodDays} days.`,
        },
        accessory: {
          type: 'button',
          action_id: REVIEW_DELETE,
          style: 'danger',
          text: { type: 'plain_text', text: 'Delete' },
          value: reviewButtonValue({ a: u.account, r: round, u: u.userName }),
        },
      });
    } else {
      blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `${code(u.userName)}${where}` } });
    }
    for (const m of u.memberships) {
      const ref = { a: u.account, r: round, u: u.userName, g: m.group };
      blocks.push({
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: m.used.length
            ? `• ${code(m.group)}: used ${serviceList(m.used)}`
            : `• ${code(m.group)}: *nothing used*`,
        },
      });
      blocks.push({
        type: 'actions',
        elements: [
          {
            type: 'button',
            action_id: REVIEW_KEEP,
            text: { type: 'plain_text', text: 'Keep' },
            value: reviewButtonValue(ref),
          },
          ...(m.used.length
            ? []
            : [
                {
                  type: 'button',
                  action_id: REVIEW_REMOVE,
                  text: { type: 'plain_text', text: 'Remove' },
                  value: reviewButtonValue(ref),
                },
              ]),
        ],
      });
    }
  }
  if (shown < users.length)
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `And ${users.length - shown} more users: in the next message.` }],
    });
  const unused = users.reduce((n, u) => n + u.memberships.filter((m) => !m.used.length).length, 0);
  return {
    text: `Access review: ${users.length} IAM user${users.length === 1 ? '' : 's'} you own, ${unused} group membership${unused === 1 ? '' : 's'} with nothing used.`,
    blocks,
    shown,
  };
}

/** Messages sent to one owner at most: the users beyond are counted in the last (they come in the next review). */
export const MAX_REVIEW_MESSAGES = 10;

/** The owner's review as successive messages, each within Slack's limits (one unless the owner has many users). */
export function accessReviewMessages(round: string, periodDays: number, users: ReviewedUser[]) {
  const messages: { text: string; blocks: unknown[] }[] = [];
  let rest = users;
  while (rest.length) {
    const { shown, ...message } = accessReviewMessage(round, periodDays, rest);
    messages.push(message);
    rest = rest.slice(Math.max(1, shown));
    if (messages.length === MAX_REVIEW_MESSAGES && rest.length) {
      message.blocks.splice(-1, 1, {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `And ${rest.length} more users, in the next review.` }],
      });
      break;
    }
  }
  return messages;
}

/**
 * The review message's blocks once one of its questions is answered: the buttons of that membership (`value`: the
 * clicked button's) give way to what was decided, so the DM shows what is left to answer. Other blocks unchanged.
 */
export function answeredReviewBlocks(blocks: readonly unknown[], value: string, note: string): unknown[] {
  const context = { type: 'context', elements: [{ type: 'mrkdwn', text: note }] };
  return blocks.flatMap((b) => {
    const block = b as { type?: string; elements?: { value?: string }[]; accessory?: { value?: string } };
    if (block.type === 'actions' && block.elements?.some((e) => e.value === value)) return [context];
    if (block.accessory?.value === value) {
      const { accessory: _, ...rest } = block;
      return [rest, context];
    }
    return [b];
  });
}
