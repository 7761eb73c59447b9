/**
 * The contract between provisioning (user creation, key rotation) and credential delivery (one-time links).
 * Provisioning hands a bundle over; delivery stores it in Secrets Manager and DMs a one-time link.
 */

import type { DeliveryState } from '../store/links.js';

/** Credentials for one IAM user. Secret fields must never reach Slack, a log line, an error or DynamoDB. */
export interface CredentialBundle {
  /** 12-digit AWS account id the user lives in. */
  accountId: string;
  region: string;
  userName: string;
  accessKey?: { accessKeyId: string; secretAccessKey: string };
  console?: { password: string; signInUrl: string };
}

export interface DeliveryRequest {
  /**
   * What this delivery is for (an access request id, a rotation id). Delivery is idempotent per
   * `deliveryKey`: a second call with the same key returns the first link and stores nothing new.
   */
  deliveryKey: string;
  /** The access request (or rotation) id, for tags, audit and messages. */
  requestId: string;
  recipientSlackId: string;
  requesterSlackId: string;
  approverSlackIds: string[];
  /** Account name from the policy (`home` or a named account). */
  account: string;
  /** One line saying what this is, e.g. "New IAM user build-bot (access key)". */
  purpose: string;
  bundle: CredentialBundle;
  /**
   * The delivery key's item as the caller read it (consistently) before minting, when it did: the claim decides from
   * it instead of reading it again (its conditional write checks that it still holds).
   */
  known?: DeliveryState;
}

export interface DeliveryResult {
  linkId: string;
  expiresAt: Date;
  /** false when an earlier call with the same deliveryKey had delivered already. */
  created: boolean;
}

/** Where a console user adds an MFA device itself: its security credentials tab in the IAM console. */
export const mfaConsoleUrl = (userName: string) =>
  `https://console.aws.amazon.com/iam/home#/users/details/${encodeURIComponent(userName)}?section=security_credentials`;
