import { credentialExpiredMessage, credentialExpiredNotice, type ExpiryOutcome } from '../blocks/credentials.js';
import { HOUR } from '../clock.js';
import type { Deps } from '../deps.js';
import { logger } from '../logger.js';
import type { LinkRecord } from '../store/links.js';
import {
  auditLink,
  deactivateAccessKey,
  finishInterruptedReport,
  REVEAL_SETTLE_MS,
  removeConsolePassword,
  reportProgress,
  updateDm,
} from './credential-links.js';
import { deleteCredentialSecret, listCredentialSecrets } from './credential-secrets.js';
import { slackErrorCode, unreachableMember } from './slack-errors.js';

export interface SweepCounts extends Record<string, number> {
  /** Links this run marked expired. */
  expired: number;
  secretsDeleted: number;
  keysDeactivated: number;
  /** "This wasn't me" reports that no run had finished, finished by this run. */
  reportsFinished: number;
  /** Undelivered console passwords (login profiles) removed. */
  consolePasswordsRemoved: number;
  /** Recipients and requesters told about an expired link. */
  notified: number;
  /** Links whose work failed this run (they stay due and are tried again next run). */
  failed: number;
}

/**
 * The scheduled expiry sweep. For every pending link past its expiry: marks it expired (conditional write, so it
 * happens once even with overlapping runs), deletes its secret, deactivates the access key and removes the console
 * password (login profile) nobody received, and tells the recipient and the requester. Also deletes the secrets
 * that a reveal or a failed delivery left behind, disables what a link whose reveal failed (nothing shown) would
 * have delivered, and finishes "This wasn't me" reports that no run finished (see finishInterruptedReport).
 * Idempotent: every step is safe to repeat, and a link leaves the sweep's index only when all its steps are done,
 * so a run that fails half-way is completed by the next.
 */
export async function sweepExpiredLinks(deps: Deps): Promise<SweepCounts> {
  const now = deps.clock.now();
  const counts: SweepCounts = {
    expired: 0,
    secretsDeleted: 0,
    keysDeactivated: 0,
    reportsFinished: 0,
    consolePasswordsRemoved: 0,
    notified: 0,
    failed: 0,
  };
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
    case 'revoked':
      if (!reportProgress(link).finished) {
        // Throws when a step fails again: the link stays due, and the next run tries again.
        if ((await finishInterruptedReport(deps, link)) === 'busy') return;
        counts.reportsFinished += 1;
        link = (await links.get(hash)) ?? link;
      }
      if (!link.secretDeletedAt && (link.openedAt ?? 0) > now.getTime() - REVEAL_SETTLE_MS) return;
      return deleteLeftover(deps, link, now, counts);
    case 'opened':
      // A reveal deletes its secret itself; only one that failed to (and is long over) is finished here.
      if (!link.secretDeletedAt && (link.openedAt ?? 0) > now.getTime() - REVEAL_SETTLE_MS) return;
      return deleteLeftover(deps, link, now, counts);
    case 'failed':
      return finishFailed(deps, link, now, counts);
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
  const { keyDeactivated, consoleRemoved } = await disableUndelivered(deps, link, now, counts);
  const disabled = { keyDeactivated, consoleRemoved };
  if (!link.expiryNotifiedAt) {
    const notice = credentialExpiredNotice(link, link.expiresAt, disabled);
    for (const member of link.requester === link.recipient ? [link.recipient] : [link.recipient, link.requester]) {
      try {
        await deps.messenger.post(member, notice);
        counts.notified += 1;
      } catch (error) {
        // Someone Slack will never take a DM for (deactivated, unknown, a bot) is not tried again every run, which
        // would tell the other person again each time; a passing failure is (the next run tries again).
        if (!unreachableMember(error)) throw error;
        logger.warn('Could not tell a member that a link expired; Slack will not take a DM for them', {
          member,
          linkId: link.linkId,
          error: slackErrorCode(error),
        });
      }
    }
    await links.transition(link.id, ['expired'], { expiryNotifiedAt: now.getTime() });
    await updateDm(deps, link, credentialExpiredMessage(link, link.expiresAt, disabled)).catch((e) =>
      logger.error('Could not update the credential DM', { linkId: link.linkId, errorName: (e as Error)?.name }),
    );
  }
  // The key must end up inactive and the password gone: until they are, the link stays due and the next run tries again.
  if (keyDeactivated && consoleRemoved) await links.transition(link.id, ['expired'], { sweepAt: null });
}

/**
 * Deactivates the access key and removes the console password that a link never delivered (expired unopened, or
 * its reveal failed and showed nothing), marking each on the link. Never throws: says what is disabled now.
 */
async function disableUndelivered(
  deps: Deps,
  link: LinkRecord,
  now: Date,
  counts: SweepCounts,
): Promise<ExpiryOutcome> {
  const { links } = deps.store;
  let keyDeactivated = !link.accessKeyId || Boolean(link.keyDeactivatedAt);
  if (!keyDeactivated) {
    keyDeactivated = await deactivateAccessKey(deps, link).then(
      () => true,
      () => false,
    );
    if (keyDeactivated) {
      counts.keysDeactivated += 1;
      await links.transition(link.id, [link.status], { keyDeactivatedAt: now.getTime() });
    }
  }
  let consoleRemoved = !link.hasConsole || Boolean(link.consoleRemovedAt);
  if (!consoleRemoved) {
    consoleRemoved = await removeConsolePassword(deps, link).then(
      () => true,
      () => false,
    );
    if (consoleRemoved) {
      counts.consolePasswordsRemoved += 1;
      await links.transition(link.id, [link.status], { consoleRemovedAt: now.getTime() });
    }
  }
  return { keyDeactivated, consoleRemoved };
}

/** A link whose reveal failed showed nothing: what it would have delivered is disabled, and its secret deleted. */
async function finishFailed(deps: Deps, link: LinkRecord, now: Date, counts: SweepCounts): Promise<void> {
  const { keyDeactivated, consoleRemoved } = await disableUndelivered(deps, link, now, counts);
  // Until both are disabled the link stays due, and the next run tries again.
  return deleteLeftover(deps, link, now, counts, keyDeactivated && consoleRemoved);
}

async function deleteLeftover(
  deps: Deps,
  link: LinkRecord,
  now: Date,
  counts: SweepCounts,
  done = true,
): Promise<void> {
  if (!link.secretDeletedAt) {
    await deleteCredentialSecret(await deps.aws.secrets(), link.secretName);
    counts.secretsDeleted += 1;
  }
  await deps.store.links.transition(link.id, [link.status], {
    secretDeletedAt: link.secretDeletedAt ?? now.getTime(),
    ...(done ? { sweepAt: null } : {}),
  });
}

/**
 * Secrets younger than this are never taken for orphans: a delivery writes its secret a moment before its link
 * record, and may be doing so right now. A delivery attempt owns its key for 2 minutes and the worker stops after
 * 60 seconds, so an hour leaves a wide margin; a real orphan waits at most this long plus one sweep interval.
 */
export const ORPHAN_MIN_AGE_MS = HOUR;

export interface OrphanCounts extends Record<string, number> {
  /** Secrets under SECRET_PREFIX looked at. */
  checked: number;
  /** Deleted: made by the bot, older than ORPHAN_MIN_AGE_MS, and no live link needs them. */
  deleted: number;
  /** Younger than ORPHAN_MIN_AGE_MS, or needed by a live link. */
  kept: number;
  /** Under the prefix but without the bot's link-id tag: not the bot's, left alone. */
  foreign: number;
  failed: number;
}

/** Whether a link still needs its secret: pending (to be revealed or expired), or being revealed right now. */
function needsSecret(link: LinkRecord, now: number): boolean {
  if (link.secretDeletedAt) return false;
  if (link.status === 'pending') return true;
  return (link.status === 'opened' || link.status === 'revoked') && (link.openedAt ?? 0) > now - REVEAL_SETTLE_MS;
}

/**
 * The scheduled sweep of orphaned credential secrets: deletes (without recovery) every secret under SECRET_PREFIX
 * that carries the bot's link-id tag, is older than ORPHAN_MIN_AGE_MS (by its created-at tag, from the bot's
 * clock) and has no live link: no link record at all (a delivery that died between creating the secret and storing
 * its link), or one that no longer needs it. Reads every page of ListSecrets. Idempotent; one secret failing does
 * not stop the others, and the next run tries it again.
 */
export async function sweepOrphanedSecrets(deps: Deps): Promise<OrphanCounts> {
  const now = deps.clock.now().getTime();
  const counts: OrphanCounts = { checked: 0, deleted: 0, kept: 0, foreign: 0, failed: 0 };
  const secrets = await deps.aws.secrets();
  for await (const secret of listCredentialSecrets(secrets, deps.config.env.SECRET_PREFIX)) {
    counts.checked += 1;
    if (!secret.linkId) {
      counts.foreign += 1;
      continue;
    }
    if (!secret.createdAt || secret.createdAt.getTime() > now - ORPHAN_MIN_AGE_MS) {
      counts.kept += 1;
      continue;
    }
    try {
      const link = await deps.store.links.getByLinkId(secret.linkId);
      if (link?.secretName === secret.name && needsSecret(link, now)) {
        counts.kept += 1;
        continue;
      }
      await deleteCredentialSecret(secrets, secret.name);
      counts.deleted += 1;
      await deps.store.audit.record({
        subject: `link#${secret.linkId}`,
        at: new Date(now),
        actor: 'system',
        action: 'credentials.orphan-deleted',
        detail: { secretName: secret.name, linkStatus: link?.status ?? null },
      });
      logger.info('Deleted an orphaned credential secret', { linkId: secret.linkId, linkStatus: link?.status });
    } catch (error) {
      counts.failed += 1;
      logger.error('Deleting an orphaned credential secret failed; the next run retries', {
        linkId: secret.linkId,
        errorName: (error as Error)?.name,
      });
    }
  }
  return counts;
}
