import { randomUUID } from 'node:crypto';
import { credentialLinkMessage } from '../blocks/credentials.js';
import { HOUR } from '../clock.js';
import type { Deps } from '../deps.js';
import { ConflictError, ProvisioningError, ValidationError } from '../errors.js';
import { logger } from '../logger.js';
import { type DeliveryState, type LinkRecord, LinkStore } from '../store/links.js';
import { hashToken, linkUrl, updateDm } from './credential-links.js';
import {
  createCredentialSecret,
  deleteCredentialSecret,
  legacySecretNameFor,
  secretNameFor,
} from './credential-secrets.js';
import type { DeliveryRequest, DeliveryResult } from './credential-types.js';

export { sweepExpiredLinks, sweepOrphanedSecrets } from './credential-expiry.js';
export { reportUnrecognizedReveal, revealLink, viewLink } from './credential-links.js';

/**
 * How long one delivery attempt owns its key before a retry may take over: a little more than the worker's timeout
 * (60 s), since the attempt runs in one invocation, which is dead by then. Not longer: Lambda retries a timed-out
 * invocation about a minute after it ended, and a retry that finds the key still leased fails again.
 */
const DELIVERY_LEASE_MS = 75_000;

type DeliveryDeps = Pick<Deps, 'config' | 'clock' | 'aws' | 'store' | 'messenger' | 'randomToken'>;

/**
 * The `credentials.delivered` audit event of a link (`extra`: e.g. how it was found delivered): the one shape every
 * delivery path records, whichever finds or completes it.
 */
export function deliveredEvent(link: LinkRecord, deliveryKey: string, at: Date, extra: Record<string, boolean> = {}) {
  return {
    subject: `link#${link.linkId}`,
    at,
    actor: 'system',
    action: 'credentials.delivered',
    detail: {
      requestId: link.requestId,
      deliveryKey,
      recipient: link.recipient,
      account: link.account,
      userName: link.userName,
      accessKeyId: link.accessKeyId ?? null,
      console: link.hasConsole,
      expiresAt: new Date(link.expiresAt).toISOString(),
      ...extra,
    },
  };
}

/**
 * The link a delivery key delivered, if it completed (see LinkStore.deliveredLink), with its `credentials.delivered`
 * audit event guaranteed: a worker killed between the write that completed the delivery and the event's write lost
 * the event, and every later call finds the delivery complete and sends nothing, so the call that finds it recorded
 * without its event records it (`recovered`). Reads only, unless the event is missing.
 */
export async function completedDelivery(
  deps: Pick<Deps, 'store' | 'clock'>,
  deliveryKey: string,
  known?: DeliveryState,
): Promise<{ linkId: string; expiresAt: number } | undefined> {
  const done = known !== undefined ? LinkStore.deliveredOf(known) : await deps.store.links.deliveredLink(deliveryKey);
  if (!done) return undefined;
  if (!(await hasDeliveredEvent(deps, done.linkId))) {
    const link = await deps.store.links.get(done.linkHash);
    // A link item gone by TTL long after its delivery: nothing left to describe it.
    if (link) await deps.store.audit.record(deliveredEvent(link, deliveryKey, deps.clock.now(), { recovered: true }));
  }
  return { linkId: done.linkId, expiresAt: done.expiresAt };
}

/** Whether a link's `credentials.delivered` event is recorded (read consistently). */
async function hasDeliveredEvent(deps: Pick<Deps, 'store'>, linkId: string): Promise<boolean> {
  const events = await deps.store.audit.list(`link#${linkId}`, { consistent: true });
  return events.some((e) => e.action === 'credentials.delivered');
}

function validate(request: DeliveryRequest): void {
  const problems: Record<string, string> = {};
  if (!request.deliveryKey) problems.deliveryKey = 'is required';
  if (!/^[UW][A-Z0-9]{2,}$/.test(request.recipientSlackId)) problems.recipient = 'must be a Slack user id';
  if (!request.bundle.accessKey && !request.bundle.console)
    problems.bundle = 'holds neither an access key nor a password';
  const fields = Object.keys(problems);
  if (fields.length > 0) {
    throw new ValidationError(
      `Cannot deliver credentials: ${fields.map((f) => `${f} ${problems[f]}`).join('; ')}`,
      problems,
    );
  }
}

/**
 * Delivers a credential bundle to one Slack user: a new Secrets Manager secret named after the delivery key and
 * attempt (secretNameFor), a link record keyed by the SHA-256 of a fresh 256-bit token, and a DM with the link
 * (unfurling off).
 *
 * Idempotent per `deliveryKey`: once a call has delivered, later calls return that link (`created: false`) and
 * store nothing. Concurrent calls: one delivers, the others get a ConflictError while it runs. A failure before
 * the DM is sent leaves nothing behind (secret and record removed, the key released for a retry) and throws a
 * ProvisioningError; an attempt that died half-way is cleaned up by the next call once its lease has run out (its
 * secret is found by name), or, if no call comes, by the scheduled sweep of orphaned secrets.
 */
export async function deliverCredentials(deps: DeliveryDeps, request: DeliveryRequest): Promise<DeliveryResult> {
  validate(request);
  const now = deps.clock.now();
  const token = deps.randomToken();
  const linkHash = hashToken(token);
  const linkId = randomUUID();
  const expiresAt = now.getTime() + deps.config.policy.links.lifetimeHours * HOUR;

  const claim = await deps.store.links.claimDelivery(
    request.deliveryKey,
    { linkId, linkHash, expiresAt },
    now,
    DELIVERY_LEASE_MS,
    request.known,
  );
  if (claim.state === 'delivered') {
    const done = await completedDelivery(deps, request.deliveryKey); // its audit event, if a kill lost it
    return { linkId: claim.linkId, expiresAt: new Date(done?.expiresAt ?? claim.expiresAt), created: false };
  }
  if (claim.state === 'busy') {
    throw new ConflictError('These credentials are being delivered right now; try again in a minute.');
  }
  if (claim.previous) {
    const resumed = await discardAttempt(deps, request.deliveryKey, claim.previous);
    if (resumed) {
      // its event first (once): after the delivery is complete, only completedDelivery would write it
      if (!(await hasDeliveredEvent(deps, resumed.linkId)))
        await deps.store.audit.record(deliveredEvent(resumed, request.deliveryKey, now, { resumed: true }));
      await deps.store.links.completeDelivery(request.deliveryKey, linkId, now, {
        linkId: resumed.linkId,
        linkHash: resumed.id,
        expiresAt: resumed.expiresAt,
      });
      return { linkId: resumed.linkId, expiresAt: new Date(resumed.expiresAt), created: false };
    }
  }

  const { bundle } = request;
  const secretName = secretNameFor(deps.config.env.SECRET_PREFIX, request.deliveryKey, claim.attempt);
  const link: LinkRecord = {
    id: linkHash,
    linkId,
    status: 'pending',
    deliveryKey: request.deliveryKey,
    requestId: request.requestId,
    purpose: request.purpose,
    recipient: request.recipientSlackId,
    requester: request.requesterSlackId,
    approvers: request.approverSlackIds,
    account: request.account,
    accountId: bundle.accountId,
    region: bundle.region,
    userName: bundle.userName,
    ...(bundle.accessKey ? { accessKeyId: bundle.accessKey.accessKeyId } : {}),
    hasConsole: Boolean(bundle.console),
    secretName,
    createdAt: now.getTime(),
    expiresAt,
    sweepAt: expiresAt,
    ttl: LinkStore.ttlFor(expiresAt),
  };

  let dm: { channel: string; ts: string };
  try {
    const { arn } = await createCredentialSecret(await deps.aws.secrets(), secretName, bundle, {
      requestId: request.requestId,
      recipient: request.recipientSlackId,
      linkId,
      expiresAt: new Date(expiresAt),
      createdAt: now,
    });
    link.secretArn = arn;
    await deps.store.links.create(link);
    dm = await deps.messenger.post(
      request.recipientSlackId,
      credentialLinkMessage({ ...link, url: linkUrl(deps.config.env.PUBLIC_URL, token) }),
    );
  } catch (error) {
    await rollBack(deps, request.deliveryKey, link);
    throw new ProvisioningError(
      'The credentials could not be delivered; nothing was sent and nothing stored. Try again.',
      { cause: error },
    );
  }

  // The DM is out: from here the link is live, and a failure is reported without undoing it.
  try {
    await deps.store.links.transition(linkHash, ['pending', 'opened'], { dmChannel: dm.channel, dmTs: dm.ts });
    await deps.store.links.completeDelivery(request.deliveryKey, linkId, now);
    await deps.store.audit.record(deliveredEvent(link, request.deliveryKey, now));
  } catch (error) {
    throw new ProvisioningError(
      'The one-time link was sent, but recording its delivery failed. A retry replaces the link with a new one.',
      { cause: error },
    );
  }
  logger.info('Credentials delivered', { linkId, requestId: request.requestId, recipient: request.recipientSlackId });
  return { linkId, expiresAt: new Date(expiresAt), created: true };
}

/** Where an earlier delivery under a key stands, once settled (see settleDelivery). */
export type SettledDelivery =
  /** Its link went out: it stands (marked delivered now if the attempt died first). */
  | { state: 'delivered'; linkId: string; expiresAt: Date }
  /** Nothing of it is live: its link (if stored) is retired and its secret deleted; its credentials may go. */
  | { state: 'withdrawn' }
  /** An attempt holds the key right now: try again later. */
  | { state: 'busy' };

/**
 * Settles an earlier delivery under `deliveryKey` before the credentials it carried are replaced (a rotation's key
 * made by an attempt that died during its delivery): `delivered` when it finished, or when its link went out (its
 * DM recorded, or opened already; then it is marked delivered now, as the dead attempt would have); otherwise its
 * link is retired first (so that it can never be opened after the credentials are gone), then its secret deleted
 * (found by the attempt's name when the link was never stored), and it is `withdrawn`. `busy` while an attempt
 * holds the key. A deletion that fails is left to the sweeps (the link stays due).
 */
export async function settleDelivery(deps: DeliveryDeps, deliveryKey: string): Promise<SettledDelivery> {
  const done = await completedDelivery(deps, deliveryKey);
  if (done) return { state: 'delivered', linkId: done.linkId, expiresAt: new Date(done.expiresAt) };
  const unfinished = await deps.store.links.unfinishedDelivery(deliveryKey);
  if (!unfinished) return { state: 'withdrawn' };
  const now = deps.clock.now();
  if (unfinished.leaseUntil >= now.getTime()) return { state: 'busy' };
  const link = await deps.store.links.get(unfinished.linkHash);
  const out = link?.status === 'pending' && link.dmTs ? link : await discardAttempt(deps, deliveryKey, unfinished);
  if (!out) return { state: 'withdrawn' };
  await deps.store.links.completeDelivery(deliveryKey, unfinished.linkId, now, {
    linkId: out.linkId,
    linkHash: out.id,
    expiresAt: out.expiresAt,
  });
  await deps.store.audit.record(deliveredEvent(out, deliveryKey, now, { resumed: true }));
  return { state: 'delivered', linkId: out.linkId, expiresAt: new Date(out.expiresAt) };
}

/** Undoes a failed attempt before its DM went out: secret, link record and the delivery key's claim. */
async function rollBack(deps: DeliveryDeps, deliveryKey: string, link: LinkRecord): Promise<void> {
  const now = deps.clock.now().getTime();
  const deleted = await deleteCredentialSecret(await deps.aws.secrets(), link.secretName).then(
    () => true,
    (error: Error) => {
      logger.error('Rolling back a delivery: the secret could not be deleted; the sweep retries', {
        linkId: link.linkId,
        errorName: error?.name,
      });
      return false;
    },
  );
  await retire(deps, link.id, deleted, now).catch((error: Error) =>
    logger.error('Rolling back a delivery: the link could not be retired', {
      linkId: link.linkId,
      errorName: error?.name,
    }),
  );
  // Not caught: if the claim cannot be released, the caller must know that a retry waits for the lease to run out.
  await deps.store.links.releaseDelivery(deliveryKey, link.linkId);
}

/** Marks a never-delivered link superseded; it stays due for the sweep until its secret is known to be deleted. */
async function retire(deps: DeliveryDeps, hash: string, secretDeleted: boolean, now: number) {
  return deps.store.links.transition(
    hash,
    ['pending'],
    secretDeleted
      ? { status: 'superseded', secretDeletedAt: now, sweepAt: null }
      : { status: 'superseded', sweepAt: now },
  );
}

/**
 * Retires the link of an attempt that died before it finished, and deletes the secret it created: found by the
 * attempt's name even when the attempt died before storing its link. Returns that link when it turns out to have
 * been delivered and opened already (then it stands, and nothing new is sent).
 */
async function discardAttempt(
  deps: DeliveryDeps,
  deliveryKey: string,
  previous: { linkId: string; linkHash: string; attempt?: number },
): Promise<LinkRecord | undefined> {
  const now = deps.clock.now().getTime();
  const retired = await retire(deps, previous.linkHash, false, now);
  const link = retired ?? (await deps.store.links.get(previous.linkHash));
  if (link && link.status !== 'superseded') return link;
  let secretDeleted = Boolean(link?.secretDeletedAt);
  if (!secretDeleted) {
    const prefix = deps.config.env.SECRET_PREFIX;
    const name =
      link?.secretName ??
      (previous.attempt === undefined
        ? legacySecretNameFor(prefix, previous.linkId)
        : secretNameFor(prefix, deliveryKey, previous.attempt));
    // Best effort: this attempt does not depend on it, and the sweeps delete what is left (the link's, or the
    // orphan sweep when there is no link).
    secretDeleted = await deleteCredentialSecret(await deps.aws.secrets(), name).then(
      () => true,
      (error: Error) => {
        logger.error('Could not delete the secret of an abandoned delivery attempt; the sweep retries', {
          linkId: previous.linkId,
          errorName: error?.name,
        });
        return false;
      },
    );
  }
  if (link) {
    await deps.store.links.transition(
      link.id,
      ['superseded'],
      secretDeleted ? { secretDeletedAt: link.secretDeletedAt ?? now, sweepAt: null } : { sweepAt: now },
    );
    await updateDm(deps, link, { text: 'This one-time link was replaced by a newer one; use the newest message.' });
  }
  return undefined;
}
