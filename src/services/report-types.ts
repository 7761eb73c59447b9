import type { KeyAgeBand } from './key-age.js';

/** One access key in the compliance report: ids masked, dates only, never a secret. */
export interface ReportKey {
  account: string;
  userName: string;
  /** Slack user id of the owner; undefined: unowned. */
  owner?: string;
  /** The key id, masked (`AKIA…WXYZ`). */
  key: string;
  status: 'Active' | 'Inactive';
  ageDays: number;
  band: KeyAgeBand;
  lastUsedAt?: string;
  createdAt: string;
}

/** A console user without MFA in the report (CIS 1.10, Security Hub IAM.5). */
export interface NoMfaUser {
  account: string;
  userName: string;
  owner?: string;
  /** Days since the console password was set, when known. */
  consoleDays?: number;
}

/** One account's keys by age band, and the keys that need someone's attention. */
export interface AccountReport {
  account: string;
  users: number;
  keys: number;
  bands: Record<KeyAgeBand, number>;
  overdue: ReportKey[];
  unowned: ReportKey[];
  neverUsed: ReportKey[];
  /** Console users without an MFA device. */
  noMfa: NoMfaUser[];
  /** The account's latest access review (src/services/access-review.ts), when one was started. */
  review?: ReviewState;
}

/** An access review round's state: what its DMs asked about (memberships, idle users) and the answers so far. */
export interface ReviewState {
  /** The day the round started. */
  round: string;
  /** `collecting`: IAM's jobs are being collected, no DM sent yet; `sent`: every owner has their DM. */
  state: string;
  asked: number;
  kept: number;
  removed: number;
  deleted: number;
}
