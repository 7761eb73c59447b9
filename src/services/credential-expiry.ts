import { credentialExpiredMessage, credentialExpiredNotice } from '../blocks/credentials.js';
import type { Deps } from '../deps.js';
import { logger } from '../logger.js';
import type { LinkRecord } from '../store/links.js';
import { auditLink, deactivateAccessKey, REVEAL_SETTLE_MS, updateDm } from './credential-links.js';
import { deleteCredentialSecret } from './credential-secrets.js';

export interface SweepCounts extends Record<string, number> {
  /** Links this run marked expired. */
  expired: number;
  secretsDeleted: number;
  keysDeactivated: number;
  /** Recipients and requesters told about an expired link. */
  notified: number;
  /** Links whose work failed this run (they stay due and are tried again next run). */
  failed: number;
}

/**
 * The scheduled expiry sweep. For every pending link past its expiry: marks it expired (conditional write, so it
 * happens once even with overlapping runs), deletes its secret, deactivates the access key nobody received and
 * tells the recipient and the requester. Also deletes the secrets that a reveal or a failed delivery left behind.
 * Idempotent: every step is safe to repeat, and a link leaves the sweep's index only when all its steps are done,
 * so a run that fails half-way is completed by the next.
 */
export async function sweepExpiredLinks(deps: Deps): Promise<SweepCounts> {
  const now = deps.clock.now();
  const counts: SweepCounts = { expired: 0, secretsDeleted: 0, keysDeactivated: 0, notified: 0, failed: 0 };
  for (const hash of await deps.store.links.dueForSweep(now)) {
    try {
      await sweepOne(deps, hash, now, counts);
    } catch (error) {
      counts.failed += 1;
      logger.error('Sweeping a credential link failed; the next run retries', {
        errorName: (error as Error)?.name,
      });
    }
  }
  return counts;
}

async function sweepOne(deps: Deps, hash: string, now: Date, counts: SweepCounts): Promise<void> {
  const { links } = deps.store;
  let link = await links.get(hash);
  if (!link || link.sweepAt === undefined || link.sweepAt > now.getTime()) return;

  if (link.status === 'pending') {
    if (link.expiresAt > now.getTime()) return;
    const expired = await links.transition(hash, ['pending'], { status: 'expired', expiredAt: now.getTime() }, (c) =>
      c.where('expiresAt').le(now.getTime()),
    );
    if (expired) {
      counts.expired += 1;
      await auditLink(deps, expired, now, 'system', 'credentials.expired', {});
      logger.info('Credential link expired unopened', { linkId: expired.linkId, requestId: expired.requestId });
    }
    link = expired ?? (await links.get(hash));
    if (!link) return;
  }

  switch (link.status) {
    case 'expired':
      return finishExpiry(deps, link, now, counts);
    case 'opened':
    case 'revoked':
      // A reveal deletes its secret itself; only one that failed to (and is long over) is finished here.
      if (!link.secretDeletedAt && (link.openedAt ?? 0) > now.getTime() - REVEAL_SETTLE_MS) return;
      return deleteLeftover(deps, link, now, counts);
    case 'failed':
    case 'superseded':
      return deleteLeftover(deps, link, now, counts);
    default:
      return;
  }
}

async function finishExpiry(deps: Deps, link: LinkRecord, now: Date, counts: SweepCounts): Promise<void> {
  const { links } = deps.store;
  if (!link.secretDeletedAt) {
    await deleteCredentialSecret(await deps.aws.secrets(), link.secretName);
    counts.secretsDeleted += 1;
    await links.transition(link.id, ['expired'], { secretDeletedAt: now.getTime() });
  }
  let keyDeactivated = !link.accessKeyId || Boolean(link.keyDeactivatedAt);
  if (!keyDeactivated) {
    keyDeactivated = await deactivateAccessKey(deps, link).then(
      () => true,
      () => false,
    );
    if (keyDeactivated) {
      counts.keysDeactivated += 1;
      await links.transition(link.id, ['expired'], { keyDeactivatedAt: now.getTime() });
    }
  }
  if (!link.expiryNotifiedAt) {
    const notice = credentialExpiredNotice(link, link.expiresAt, keyDeactivated);
    await deps.messenger.post(link.recipient, notice);
    counts.notified += 1;
    if (link.requester !== link.recipient) {
      await deps.messenger.post(link.requester, notice);
      counts.notified += 1;
    }
    await links.transition(link.id, ['expired'], { expiryNotifiedAt: now.getTime() });
    await updateDm(deps, link, credentialExpiredMessage(link, link.expiresAt)).catch((e) =>
      logger.error('Could not update the credential DM', { linkId: link.linkId, errorName: (e as Error)?.name }),
    );
  }
  // The key must end up inactive: until it is, the link stays due and the next run tries again.
  if (keyDeactivated) await links.transition(link.id, ['expired'], { sweepAt: null });
}

async function deleteLeftover(deps: Deps, link: LinkRecord, now: Date, counts: SweepCounts): Promise<void> {
  if (!link.secretDeletedAt) {
    await deleteCredentialSecret(await deps.aws.secrets(), link.secretName);
    counts.secretsDeleted += 1;
  }
  await deps.store.links.transition(link.id, [link.status], {
    secretDeletedAt: link.secretDeletedAt ?? now.getTime(),
    sweepAt: null,
  });
}
