/**
 * What a temporary-membership request holds besides the shared fields: its grant (duration and where it stands). Data
 * only (type imports aside): the store merges `grantItemFields` into the request item's schema (src/kinds/facts.ts
 * lists it), so the web and schedule bundles carry no kind code for it, and the type joins AccessRequest below.
 */
import type { KindItemFields } from '../../store/requests.js';

/**
 * temporary-membership: how long the groups are granted for and where the grant stands. Times are ISO strings; ids
 * only.
 */
export interface GrantState {
  /** How long the membership lasts from its addition (ms), as asked. */
  durationMs: number;
  /** When the memberships were added (the run's commit). */
  startedAt?: string;
  /** When the bot removes them: the commit sets it, Extend moves it. */
  endsAt?: string;
  /** The end time the pre-expiry notice was sent for (a new end after an extension gets its own notice). */
  noticeFor?: string;
  /** Extensions granted so far. */
  extensions: number;
  /** "Done, remove now" (or another early end): who asked, when. */
  endNow?: { by: string; at: string };
  /** When the end step ran (the memberships were removed or found gone). */
  endedAt?: string;
  /** Break-glass: added at once by the user's owner, without approval (src/kinds/temporary-membership/break-glass.ts). */
  breakGlass?: BreakGlassState;
  /** An extension waiting for approval (src/kinds/temporary-membership/extension.ts); removed once decided. */
  extensionAsk?: ExtensionAsk;
  /**
   * The last extension approved (the ask with its approvals), written with the decision: the run's wait step tells of
   * it (the ask's post updated, its asker's DM, each a step) and sets `toldAt`; a repeated Approve answers from it.
   */
  extensionApproved?: ExtensionAsk & { toldAt?: string };
}

/** An extension asked where a group wants it approved: who asked, from which end to which, approvals so far. */
export interface ExtensionAsk {
  by: string;
  at: string;
  from: string;
  to: string;
  approvals?: string[];
  /** Its post in the approval channel. */
  post?: { channel: string; ts: string };
  /**
   * When a click claimed the post (a conditional write, before posting): only the claimer posts, so that two Extend
   * clicks at once post the ask once; a claim older than EXTENSION_POST_CLAIM_MS without a post is taken as lost.
   */
  postClaimedAt?: string;
}

/** A break-glass grant's review: its post in the approval channel, the review it awaits, its escalation. */
export interface BreakGlassState {
  /** When an approver should have reviewed it (the commit sets it: added + the groups' shortest `reviewWithin`). */
  reviewDueAt?: string;
  /** The loud post in the approval channel (updated once reviewed). */
  post?: { channel: string; ts: string };
  /** Who marked it Reviewed, when. */
  reviewed?: { by: string; at: string };
  /** When the escalation (not reviewed in time) was posted. */
  escalatedAt?: string;
}

declare module '../../store/requests.js' {
  interface AccessRequest {
    /** temporary-membership: its duration and end (see GrantState). */
    grant?: GrantState;
  }
}

/** The request item's `grant` attribute, as the dynamoose schema declares it. */
export const grantItemFields: KindItemFields = {
  grant: {
    type: Object,
    schema: {
      durationMs: Number,
      startedAt: String,
      endsAt: String,
      noticeFor: String,
      extensions: Number,
      endNow: { type: Object, schema: { by: String, at: String } },
      endedAt: String,
      breakGlass: {
        type: Object,
        schema: {
          reviewDueAt: String,
          post: { type: Object, schema: { channel: String, ts: String } },
          reviewed: { type: Object, schema: { by: String, at: String } },
          escalatedAt: String,
        },
      },
      extensionAsk: {
        type: Object,
        schema: {
          by: String,
          at: String,
          from: String,
          to: String,
          approvals: { type: Array, schema: [String] },
          post: { type: Object, schema: { channel: String, ts: String } },
          postClaimedAt: String,
        },
      },
      extensionApproved: {
        type: Object,
        schema: {
          by: String,
          at: String,
          from: String,
          to: String,
          approvals: { type: Array, schema: [String] },
          post: { type: Object, schema: { channel: String, ts: String } },
          postClaimedAt: String,
          toldAt: String,
        },
      },
    },
  },
};
