import { createHash, randomUUID } from 'node:crypto';
import { DeleteLoginProfileCommand, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import {
  credentialFailedMessage,
  credentialOpenedMessage,
  credentialReportedMessage,
  credentialRevokedAlert,
  type RevocationOutcome,
} from '../blocks/credentials.js';
import type { Deps } from '../deps.js';
import { ConflictError, NotAuthorizedError } from '../errors.js';
import { logger } from '../logger.js';
import type { LinkRecord } from '../store/links.js';
import { deleteCredentialSecret, isPermanentReadError, readCredentialSecret } from './credential-secrets.js';
import type { CredentialBundle } from './credential-types.js';

/** SHA-256 (hex) of a link token: the only form in which a token is ever stored. */
export const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** A token the bot could have issued (base64url, at least 128 bits); anything else is not looked up at all. */
export const isWellFormedToken = (token: string | undefined): token is string =>
  typeof token === 'string' && /^[A-Za-z0-9_-]{22,128}$/.test(token);

/** The one-time link for a token: `${PUBLIC_URL}/credentials/${token}`. */
export const linkUrl = (publicUrl: string, token: string): string =>
  `${publicUrl.replace(/\/+$/, '')}/credentials/${token}`;

/** What a link shows without revealing anything. `gone` is the one answer for unknown, expired and replaced links. */
export type LinkView =
  | { state: 'pending'; link: LinkRecord }
  | { state: 'opened'; link: LinkRecord & { openedAt: number } }
  | { state: 'failed'; link: LinkRecord }
  | { state: 'gone' };

export type RevealOutcome =
  | LinkView
  | { state: 'revealed'; link: LinkRecord; bundle: CredentialBundle }
  /** Claimed, but the secret could not be read just now: nothing was shown and the link works again. */
  | { state: 'unavailable'; link: LinkRecord };

/** Where a reveal came from, for the audit trail and the recipient's DM. */
export interface Opener {
  sourceIp?: string;
  userAgent?: string;
}

/** A link past this age since its reveal has surely finished deleting its secret (the sweep may then retry). */
export const REVEAL_SETTLE_MS = 5 * 60_000;

function classify(link: LinkRecord | undefined, now: Date): LinkView {
  if (!link) return { state: 'gone' };
  switch (link.status) {
    case 'pending':
      return link.expiresAt > now.getTime() ? { state: 'pending', link } : { state: 'gone' };
    case 'opened':
    case 'revoked':
      return { state: 'opened', link: { ...link, openedAt: link.openedAt ?? 0 } };
    case 'failed':
      return { state: 'failed', link };
    default:
      return { state: 'gone' };
  }
}

/**
 * What the link page shows on GET or HEAD: never reads, changes or records anything, so link previews and
 * scanners cannot use a link up. Expiry is checked against the clock (DynamoDB's TTL can lag by days).
 */
export async function viewLink(deps: Pick<Deps, 'clock' | 'store'>, token: string | undefined): Promise<LinkView> {
  if (!isWellFormedToken(token)) return { state: 'gone' };
  return classify(await deps.store.links.get(hashToken(token)), deps.clock.now());
}

/**
 * The Reveal click: claims the link with a conditional write (exactly one of any number of concurrent reveals
 * wins, and only while it is pending and unexpired), reads the secret, deletes it without recovery, records and
 * audits the opening and updates the recipient's DM. Everyone else gets the link's state (`opened`, `gone`).
 * If the secret cannot be read, nothing is shown: after a transient error the claim is given back (`unavailable`);
 * after a permanent one the link is marked `failed`, audited and the recipient told to ask for new credentials.
 * If deleting the secret fails, the credentials are still shown and the scheduled sweep deletes it later.
 */
export async function revealLink(deps: Deps, token: string | undefined, opener: Opener = {}): Promise<RevealOutcome> {
  if (!isWellFormedToken(token)) return { state: 'gone' };
  const hash = hashToken(token);
  const now = deps.clock.now();
  const link = await deps.store.links.claim(hash, now, opener);
  if (!link) return classify(await deps.store.links.get(hash), now);

  let bundle: CredentialBundle;
  try {
    bundle = await readCredentialSecret(await deps.aws.secrets(), link.secretName);
  } catch (error) {
    return revealFailed(deps, link, error, now);
  }

  const openedAt = link.openedAt ?? now.getTime();
  const steps: [string, Promise<unknown>][] = [
    [
      'delete secret',
      deleteCredentialSecret(await deps.aws.secrets(), link.secretName).then(() =>
        deps.store.links.transition(hash, ['opened', 'revoked'], { secretDeletedAt: now.getTime(), sweepAt: null }),
      ),
    ],
    [
      'audit',
      auditLink(deps, link, now, 'link-holder', 'credentials.opened', {
        sourceIp: opener.sourceIp ?? null,
        userAgent: opener.userAgent ?? null,
      }),
    ],
    ['update DM', updateDm(deps, link, credentialOpenedMessage(link, openedAt))],
    // The durable fact a key rotation decides on: the link item goes with its TTL, the request stays.
    [
      'record on request',
      deps.store.requests.recordLinkOpened(link.requestId, {
        linkId: link.linkId,
        at: new Date(openedAt).toISOString(),
      }),
    ],
  ];
  const results = await Promise.allSettled(steps.map(([, p]) => p));
  results.forEach((result, i) => {
    if (result.status === 'rejected') {
      logger.error('A step after revealing credentials failed', {
        step: steps[i]?.[0],
        linkId: link.linkId,
        errorName: (result.reason as Error)?.name,
      });
    }
  });
  logger.info('Credential link opened', { linkId: link.linkId, requestId: link.requestId });
  return { state: 'revealed', link, bundle };
}

async function revealFailed(deps: Deps, link: LinkRecord, error: unknown, now: Date): Promise<RevealOutcome> {
  const errorName = (error as Error)?.name ?? 'Error';
  logger.error('Reading a credential secret failed', { linkId: link.linkId, errorName });
  if (!isPermanentReadError(error)) {
    const released = await deps.store.links
      .transition(
        link.id,
        ['opened'],
        { status: 'pending', openedAt: null, openedFromIp: null, openedUserAgent: null },
        (c) => c.where('openedAt').eq(link.openedAt),
      )
      .catch((e: Error) => {
        logger.error('Could not give a claimed link back; marking it failed', {
          linkId: link.linkId,
          errorName: e?.name,
        });
        return undefined;
      });
    if (released) {
      await auditLink(deps, link, now, 'link-holder', 'credentials.reveal-failed', { errorName, retryable: true });
      return { state: 'unavailable', link: released };
    }
  }
  const failed =
    (await deps.store.links.transition(link.id, ['opened'], {
      status: 'failed',
      failedAt: now.getTime(),
      failure: errorName,
    })) ?? link;
  await auditLink(deps, link, now, 'link-holder', 'credentials.reveal-failed', { errorName, retryable: false });
  await updateDm(deps, link, credentialFailedMessage(link)).catch((e) =>
    logger.error('Could not update the credential DM', { linkId: link.linkId, errorName: (e as Error)?.name }),
  );
  return { state: 'failed', link: failed };
}

/** What a report has done so far, read from the stored link (the only source replies and messages are worded from). */
export interface ReportProgress extends RevocationOutcome {
  alerted: boolean;
  /** Every step is done and every message says so: nothing is left for a retry. */
  finished: boolean;
}

export type ReportResult =
  /** This call made or finished the report (`progress` is what stands now). */
  | { state: 'reported'; link: LinkRecord; progress: ReportProgress }
  /** Reported before: either finished, or another run is at it right now (`inProgress`). */
  | { state: 'already'; link: LinkRecord; progress: ReportProgress; inProgress: boolean };

/** How long one run owns a report before another (a retry, a second press) may finish it in its place. */
const REPORT_LEASE_MS = 2 * 60_000;

/** A step of a report failed: the report is left for a retry to finish. Its cause is the first failed step's error. */
export class ReportIncompleteError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReportIncompleteError';
  }
}

/** What a report of this link has done, from its stored step marks. */
export function reportProgress(link: LinkRecord): ReportProgress {
  const keyDeactivated = !link.accessKeyId || Boolean(link.keyDeactivatedAt);
  const consoleDisabled = !link.hasConsole || Boolean(link.consoleRemovedAt);
  const alerted = Boolean(link.revokeAlertedAt);
  const finished =
    keyDeactivated &&
    consoleDisabled &&
    alerted &&
    !link.revokeAlertPartial &&
    Boolean(link.revokeAuditedAt) &&
    Boolean(link.revokeToldAt) &&
    !link.revokeToldPartial;
  return { keyDeactivated, consoleDisabled, alerted, finished };
}

/**
 * "This wasn't me": authorized from the stored link, never from the button's payload (only the recipient may
 * report). Marks the link revoked with a conditional write, so pressing twice reports once; then, each step
 * recorded on the link as it completes, deactivates the delivered access key and removes the console password in
 * the link's account, alerts the approval channel (saying what could not be disabled), audits and updates the DM.
 * A run owns the report under a short lease; a retry of a failed run, or a later press, takes over and does exactly
 * the steps still undone (an alert posted as partial is updated in place once all is disabled). Throws
 * NotAuthorizedError or ConflictError (safe to show), or ReportIncompleteError / the failed step's error when
 * something is left for a retry.
 */
export async function reportUnrecognizedReveal(
  deps: Deps,
  input: { linkId: string; userId: string },
): Promise<ReportResult> {
  const link = await deps.store.links.getByLinkId(input.linkId);
  if (!link) throw new ConflictError('These credentials are no longer on record; ask the approvers for help.');
  if (link.recipient !== input.userId) {
    throw new NotAuthorizedError('Only the person these credentials were sent to can report them.');
  }
  const now = deps.clock.now();
  const owner = randomUUID();
  let report = await deps.store.links.transition(link.id, ['opened'], {
    status: 'revoked',
    revokedAt: now.getTime(),
    revokedBy: input.userId,
    ...reportLease(owner, now),
  });
  if (!report) {
    const current = await deps.store.links.get(link.id);
    if (current?.status !== 'revoked') {
      throw new ConflictError('These credentials were never revealed, so there is nothing to report.');
    }
    if (reportProgress(current).finished) {
      return { state: 'already', link: current, progress: reportProgress(current), inProgress: false };
    }
    report = await takeReport(deps, current, owner, now);
    if (!report) {
      const latest = (await deps.store.links.get(link.id)) ?? current;
      const progress = reportProgress(latest);
      return { state: 'already', link: latest, progress, inProgress: !progress.finished };
    }
  }
  // A key rotation must not take a reported key for a received one once the link item is gone (TTL). Written by
  // every run that owns the report (idempotent), so a run that died before it is made good by the next.
  await deps.store.requests.recordLinkOpened(report.requestId, {
    linkId: report.linkId,
    at: new Date(report.openedAt ?? now.getTime()).toISOString(),
    revokedAt: new Date(report.revokedAt ?? now.getTime()).toISOString(),
  });
  const done = await runReport(deps, report, owner, now);
  return { state: 'reported', link: done, progress: reportProgress(done) };
}

/**
 * For the scheduled sweep: finishes a report that no run finished (Lambda's retries ran out, or the worker died),
 * doing exactly its undone steps. `busy` while another run owns it. Throws when a step fails again.
 */
export async function finishInterruptedReport(deps: Deps, link: LinkRecord): Promise<'finished' | 'busy'> {
  if (link.status !== 'revoked' || reportProgress(link).finished) return 'finished';
  const now = deps.clock.now();
  const owner = randomUUID();
  const report = await takeReport(deps, link, owner, now);
  if (!report) return 'busy';
  await runReport(deps, report, owner, now);
  return 'finished';
}

/**
 * A report's lease; it also puts the link in the sweep's index for when the lease runs out, so that a report no
 * run finishes is finished by the scheduled sweep (which takes it out of the index once all is done).
 */
function reportLease(owner: string, now: Date) {
  const until = now.getTime() + REPORT_LEASE_MS;
  return { reportOwner: owner, reportLeaseUntil: until, sweepAt: until };
}

/** Takes over a revoked link's report when no run owns it (or its run's lease is over). */
function takeReport(deps: Deps, link: LinkRecord, owner: string, now: Date): Promise<LinkRecord | undefined> {
  return deps.store.links.transition(link.id, ['revoked'], reportLease(owner, now), (c) =>
    c.group((g) => g.where('reportLeaseUntil').not().exists().or().where('reportLeaseUntil').lt(now.getTime())),
  );
}

/** Runs the undone steps of a report this run owns, then gives the report back (also when a step failed). */
async function runReport(deps: Deps, report: LinkRecord, owner: string, now: Date): Promise<LinkRecord> {
  const release = () =>
    deps.store.links.transition(report.id, ['revoked'], { reportLeaseUntil: null, reportOwner: null }, (c) =>
      c.where('reportOwner').eq(owner),
    );
  let done: LinkRecord;
  try {
    done = await finishReport(deps, report, now);
  } catch (error) {
    // Give the report back at once: the retry this error causes then finishes it without waiting for the lease.
    await release().catch((e: Error) =>
      logger.error('Could not release a report', { linkId: report.linkId, errorName: e?.name }),
    );
    throw error;
  }
  return (await release()) ?? done;
}

/** Slack's answers for a message that cannot be updated any more (deleted, or its channel gone): nothing to retry. */
const MESSAGE_GONE = new Set(['message_not_found', 'channel_not_found', 'cant_update_message', 'is_archived']);

function unlessMessageGone(error: unknown): void {
  const code = (error as { data?: { error?: string } } | null)?.data?.error;
  if (code && MESSAGE_GONE.has(code)) {
    logger.warn('A message to update is gone; leaving it', { slackError: code });
    return;
  }
  throw error;
}

/**
 * Does each step of a report that its link does not mark done, marking each as it completes. Both disabling steps
 * are tried even when one fails, and the alert goes out either way (saying what could not be disabled); a failed
 * step is then rethrown so that a retry tries it again. Returns the link as stored after the last step.
 */
async function finishReport(deps: Deps, start: LinkRecord, now: Date): Promise<LinkRecord> {
  let link = start;
  const mark = async (set: Parameters<Deps['store']['links']['transition']>[2]) => {
    link = (await deps.store.links.transition(link.id, ['revoked'], set)) ?? link;
  };
  const auditedBefore = Boolean(link.revokeAuditedAt);

  const [key, consoleLogin] = await Promise.allSettled([
    link.accessKeyId && !link.keyDeactivatedAt ? deactivateAccessKey(deps, link).then(() => true) : false,
    link.hasConsole && !link.consoleRemovedAt ? removeConsolePassword(deps, link).then(() => true) : false,
  ]);
  const failures: unknown[] = [key, consoleLogin].flatMap((step) => (step.status === 'rejected' ? [step.reason] : []));
  // Each later step is tried even when an earlier one failed; what failed is left for a retry.
  const attempt = async (step: () => Promise<void>) => {
    try {
      await step();
    } catch (error) {
      failures.push(error);
    }
  };
  // An earlier run audited the report with some steps undone: what a later run finishes is audited on its own.
  const auditLate = (action: string) =>
    auditedBefore ? auditLink(deps, link, now, 'system', action, {}) : Promise.resolve();
  if (key.status === 'fulfilled' && key.value) {
    await attempt(async () => {
      await mark({ keyDeactivatedAt: now.getTime() });
      await auditLate('credentials.key-deactivated');
    });
  }
  if (consoleLogin.status === 'fulfilled' && consoleLogin.value) {
    await attempt(async () => {
      await mark({ consoleRemovedAt: now.getTime() });
      await auditLate('credentials.console-removed');
    });
  }

  const openedAt = link.openedAt ?? 0;
  const disabled = () => reportProgress(link).keyDeactivated && reportProgress(link).consoleDisabled;
  await attempt(async () => {
    if (!link.revokeAlertedAt) {
      const posted = await deps.messenger.post(
        deps.config.policy.approvals.channel,
        credentialRevokedAlert(link, openedAt, reportProgress(link)),
      );
      await mark({
        revokeAlertedAt: now.getTime(),
        revokeAlertChannel: posted.channel,
        revokeAlertTs: posted.ts,
        revokeAlertPartial: disabled() ? null : true,
      });
      await auditLate('credentials.revoke-alerted');
    } else if (link.revokeAlertPartial && disabled()) {
      if (link.revokeAlertChannel && link.revokeAlertTs) {
        await deps.messenger
          .update(
            link.revokeAlertChannel,
            link.revokeAlertTs,
            credentialRevokedAlert(link, openedAt, reportProgress(link)),
          )
          .catch(unlessMessageGone);
      }
      await mark({ revokeAlertPartial: null });
    }
  });
  await attempt(async () => {
    if (link.revokeAuditedAt) return;
    const progress = reportProgress(link);
    await auditLink(deps, link, now, link.revokedBy ?? 'unknown', 'credentials.revoked', {
      keyDeactivated: progress.keyDeactivated,
      consoleDisabled: progress.consoleDisabled,
      alerted: progress.alerted,
    });
    await mark({ revokeAuditedAt: now.getTime() });
  });
  await attempt(async () => {
    const progress = reportProgress(link);
    const whole = disabled() && progress.alerted;
    if (link.revokeToldAt && !(link.revokeToldPartial && whole)) return;
    await updateDm(deps, link, credentialReportedMessage(link, openedAt, progress)).catch(unlessMessageGone);
    await mark({ revokeToldAt: now.getTime(), revokeToldPartial: whole ? null : true });
  });

  if (failures.length > 0) {
    throw new ReportIncompleteError(`${failures.length} step(s) of a report failed; a retry does what is left.`, {
      cause: failures[0],
    });
  }
  return link;
}

const missing = (error: unknown) => (error as Error)?.name === 'NoSuchEntityException';

/** Makes the link's access key inactive in the link's account. Idempotent; a key that no longer exists is fine. */
export async function deactivateAccessKey(deps: Pick<Deps, 'aws'>, link: LinkRecord): Promise<void> {
  if (!link.accessKeyId) return;
  const command = new UpdateAccessKeyCommand({
    UserName: link.userName,
    AccessKeyId: link.accessKeyId,
    Status: 'Inactive',
  });
  try {
    await deps.aws.account(link.account).iam.send(command);
  } catch (error) {
    if (missing(error)) return;
    logger.error('Could not deactivate an access key', { linkId: link.linkId, errorName: (error as Error)?.name });
    throw error;
  }
}

/** Removes the user's console password (login profile). Idempotent; a user without one is fine. */
export async function removeConsolePassword(deps: Pick<Deps, 'aws'>, link: LinkRecord): Promise<void> {
  if (!link.hasConsole) return;
  try {
    await deps.aws.account(link.account).iam.send(new DeleteLoginProfileCommand({ UserName: link.userName }));
  } catch (error) {
    if (missing(error)) return;
    logger.error('Could not remove a console password', { linkId: link.linkId, errorName: (error as Error)?.name });
    throw error;
  }
}

/** Replaces the recipient's DM about this link, if it was sent. */
export async function updateDm(
  deps: Pick<Deps, 'messenger'>,
  link: LinkRecord,
  message: { text: string; blocks?: unknown[] },
): Promise<void> {
  if (link.dmChannel && link.dmTs) await deps.messenger.update(link.dmChannel, link.dmTs, message);
}

/** Records an audit event about a link: ids and names only. */
export async function auditLink(
  deps: Pick<Deps, 'store'>,
  link: LinkRecord,
  at: Date,
  actor: string,
  action: string,
  extra: Record<string, string | number | boolean | null>,
): Promise<void> {
  await deps.store.audit.record({
    subject: `link#${link.linkId}`,
    at,
    actor,
    action,
    detail: {
      requestId: link.requestId,
      recipient: link.recipient,
      account: link.account,
      userName: link.userName,
      accessKeyId: link.accessKeyId ?? null,
      ...extra,
    },
  });
}
