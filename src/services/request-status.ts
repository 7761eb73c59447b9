/** A request's status, and which statuses end it: plain values, loaded without the store (see src/store/lazy.ts). */
/**
 * Life cycle of an access request:
 * pending -> approved | denied | expired; approved -> provisioning -> done | failed;
 * failed -> approved (Retry) | pending (Retry after the request lifetime: fresh approval) | abandoned.
 */
export type RequestStatus =
  | 'pending'
  | 'approved'
  | 'denied'
  | 'expired'
  | 'provisioning'
  | 'done'
  | 'failed'
  | 'abandoned';

/** Statuses in which a request has ended: it holds its IAM user name no more. */
export const ENDED: readonly RequestStatus[] = ['denied', 'expired', 'done', 'abandoned'];
