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
    },
  },
};
