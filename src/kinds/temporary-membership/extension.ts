/**
 * An extension through approval (issue 21): where a group of the grant sets `extensionNeedsApproval`, Extend (by the
 * owner or the requester, see ./signals.ts) asks instead of extending: the ask is recorded on the grant
 * (`grant.extensionAsk`, one conditional write with its audit event) and posted in the approval channel with Approve
 * and Deny. The usual rules decide it (authorizeApprover and authorizeDenier: listed approvers of the groups, full
 * members, never the request's requester nor the user's owner) and nobody approves their own ask. Once the groups'
 * required approvals are in, the end moves by the grant's duration (within the groups' `maxDuration`), counted
 * against `maxExtensions`, and the run is woken (signalRun) so that its wait step sees the new end and tells of the
 * approval (the ask's post and its asker's DM, steps of the run: tellExtensionApproved). Store and Slack port only.
 */
import { context, esc, section, slackDate, user } from '../../blocks/text.js';
import type { Deps } from '../../deps.js';
import { ConflictError, NotAuthorizedError } from '../../errors.js';
import type { Job } from '../../jobs/types.js';
import { logger } from '../../logger.js';
import { auditEvent } from '../../services/requests/audit.js';
import { authorizeApprover, authorizeDenier, ruleOf } from '../../services/requests/rules.js';
import { signalRun } from '../../services/runner/engine.js';
import type { AccessRequest } from '../../store/requests.js';
import { changeTitle } from '../summaries.js';
import type { ExtensionAsk, GrantState } from './item.js';

/** Action ids of an extension ask's buttons in the approval channel. */
export const GRANT_EXTENSION_APPROVE = 'grant_extension_approve';
export const GRANT_EXTENSION_DENY = 'grant_extension_deny';

type Grant = GrantState & { endsAt: string };
type ExtensionDeps = Pick<Deps, 'store' | 'clock' | 'config' | 'messenger'>;

const code = (s: string) => `\`${esc(s)}\``;
const at = (iso: string | undefined) => (iso ? slackDate(new Date(iso)) : 'an unknown time');
const when = (iso: string) => `${iso.replace('T', ' ').slice(0, 16)} UTC`;

/** The ask's post in the approval channel, as it stands (pending: Approve and Deny; decided: who decided). */
export function extensionAskMessage(r: AccessRequest, ask: ExtensionAsk, decided?: string) {
  const lines = [
    `:hourglass: ${user(ask.by)} asks to extend the temporary membership of ${changeTitle(r)} in ${r.groups.map(code).join(', ')}: from ${at(ask.from)} to ${at(ask.to)} (extension ${(r.grant?.extensions ?? 0) + 1}).`,
    `*Reason of the grant:* ${esc(r.justification)}`,
    ...(ask.approvals?.length ? [`Approved so far by ${ask.approvals.map(user).join(', ')}.`] : []),
    ...(decided ? [decided] : []),
  ];
  const value = `${r.id}|${ask.from}`;
  const buttons = {
    type: 'actions',
    elements: [
      {
        type: 'button',
        text: { type: 'plain_text', text: 'Approve' },
        action_id: GRANT_EXTENSION_APPROVE,
        value,
        style: 'primary',
      },
      {
        type: 'button',
        text: { type: 'plain_text', text: 'Deny' },
        action_id: GRANT_EXTENSION_DENY,
        value,
        style: 'danger',
      },
    ],
  };
  return {
    text: `Extension of ${r.userName} in ${r.groups.join(', ')} asked by ${ask.by}${decided ? `: ${decided}` : ''}`,
    blocks: [section(lines.join('\n')), ...(decided ? [] : [buttons]), context(`Request ${code(r.id)}`)],
  };
}

/** How long a claimed post of an extension ask may stay unrecorded before another click posts it again (a lost post). */
export const EXTENSION_POST_CLAIM_MS = 2 * 60_000;

/**
 * Records an extension ask by `by` for `grant` (the end it saw, `endsAt`, moved to `to`) and posts it for approval,
 * once: the post is claimed in the same conditional write that records the ask (or, when an earlier post was lost, in
 * one that claims it again after EXTENSION_POST_CLAIM_MS), and only the click whose claim was written posts. A second
 * ask while one is pending changes nothing (its asker's own repeated click, once posted, is answered as the first). Throws ConflictError when the request changed meanwhile or the ask is
 * being posted by another click.
 */
export async function askExtension(
  deps: ExtensionDeps,
  r: AccessRequest,
  grant: Grant,
  by: string,
  to: string,
): Promise<{ request: AccessRequest; text: string }> {
  const channel = deps.config.policy.approvals.channel;
  const pending = grant.extensionAsk;
  const asked = `An extension of ${r.groups.join(', ')} to ${when(to)} needs approval: I asked in <#${channel}>, and I'll DM you once it is decided.`;
  // its asker's repeated click (the first died before answering, after the post): the same answer, nothing posted
  if (pending?.post && pending.by === by && pending.to === to) return { request: r, text: asked };
  if (pending?.post)
    throw new ConflictError(
      `An extension to ${when(pending.to)} is already waiting for approval in <#${pending.post.channel}>.`,
    );
  const now = deps.clock.now();
  const claimedAt = pending?.postClaimedAt ? Date.parse(pending.postClaimedAt) : Number.NaN;
  if (pending && now.getTime() - claimedAt < EXTENSION_POST_CLAIM_MS)
    throw new ConflictError(
      `An extension to ${when(pending.to)} is being asked for approval in <#${channel}> just now.`,
    );
  const claimed: ExtensionAsk = pending
    ? { ...pending, postClaimedAt: now.toISOString() }
    : { by, at: now.toISOString(), from: grant.endsAt, to, approvals: [], postClaimedAt: now.toISOString() };
  const current = await deps.store.requests.update(
    r,
    { grant: { ...grant, extensionAsk: claimed } },
    now,
    [],
    pending
      ? undefined
      : (n) => [
          deps.store.audit.transactionItem(
            auditEvent(deps, n, by, 'grant.extension-asked', { groups: r.groups, from: grant.endsAt, endsAt: to }),
          ),
        ],
  );
  if (!current) throw new ConflictError('The membership changed just now; look at your latest DM.');
  const ask = current.grant?.extensionAsk as ExtensionAsk;
  const posted = await deps.messenger.post(channel, extensionAskMessage(current, ask));
  // where the post is, so that a decision updates it (a lost write only means a later ask posts again once the claim is old)
  const recorded = await deps.store.requests.update(
    current,
    {
      grant: {
        ...(current.grant as Grant),
        extensionAsk: { ...ask, post: { channel: posted.channel, ts: posted.ts } },
      },
    },
    deps.clock.now(),
  );
  if (!recorded) logger.warn('The post of an extension ask was not recorded', { requestId: r.id });
  return { request: recorded ?? current, text: asked };
}

/** Reads the request of a button value `id|from` (the end the ask would move), or throws the clicker's answer. */
async function readAsk(deps: ExtensionDeps, value: string) {
  const [id = '', from = ''] = value.split('|');
  const r = await deps.store.requests.get(id);
  const grant = r?.grant;
  if (r?.kind !== 'temporary-membership' || !grant?.endsAt) throw new NotAuthorizedError('There is no such extension.');
  return { r, grant: grant as Grant, from };
}

/** The request of a button value with its pending ask for that end, or throws the clicker's answer. */
function pendingAsk({ r, grant, from }: Awaited<ReturnType<typeof readAsk>>) {
  const ask = grant.extensionAsk;
  if (!ask || ask.from !== from) throw new ConflictError('This extension was already decided.');
  if (r.status !== 'done' || grant.endedAt || grant.endNow)
    throw new ConflictError('The membership has ended, or is being removed now: nothing to extend.');
  return { r, grant, ask };
}

/** Updates the ask's post and DMs its asker (best effort: the decision stands). */
async function tellDecision(deps: ExtensionDeps, r: AccessRequest, ask: ExtensionAsk, decided: string, dm: string) {
  try {
    if (ask.post) await deps.messenger.update(ask.post.channel, ask.post.ts, extensionAskMessage(r, ask, decided));
    await deps.messenger.post(ask.by, { text: dm });
  } catch (error) {
    logger.error('Could not tell of an extension decision', { requestId: r.id, errorName: (error as Error)?.name });
  }
}

/**
 * Approve on an extension ask, by `who`: an approver of every group (authorizeApprover), not its asker. Once the
 * approvals reach the groups' required count, the end moves to the ask's `to` and the extensions count grows, in one
 * conditional write with its audit event and the approved ask (`extensionApproved`), which wakes the run: the run
 * tells of it. A double click, or one after the decision, changes nothing; the deciding approver's repeated click is
 * answered as the first was. Throws NotAuthorizedError or ConflictError with the clicker's answer.
 */
export async function approveExtension(
  deps: ExtensionDeps,
  value: string,
  who: string,
  maxExtensions: (r: AccessRequest) => number,
): Promise<{ request: AccessRequest; job?: Job; text: string }> {
  const read = await readAsk(deps, value);
  const approved = read.grant.extensionApproved;
  // a repeated click of an approver whose approval decided it (its first click died before answering): the same answer
  if (approved?.from === read.from && approved.approvals?.includes(who) && read.grant.extensionAsk?.from !== read.from)
    return { request: read.r, text: extendedText(read.r, approved.to) };
  const { r, grant, ask } = pendingAsk(read);
  if (who === ask.by)
    throw new NotAuthorizedError('You asked for this extension, so you cannot approve it: another approver must.');
  await authorizeApprover(deps, r, who, 'approve');
  const approvals = ask.approvals ?? [];
  if (approvals.includes(who)) throw new ConflictError('You approved this extension already.');
  const all = [...approvals, who];
  const needed = ruleOf(deps.config.policy, r).requiredApprovals;
  if (all.length < needed) {
    const out = await signalRun(deps, r, { grant: { ...grant, extensionAsk: { ...ask, approvals: all } } }, (n) => [
      deps.store.audit.transactionItem(auditEvent(deps, n, who, 'grant.extension-approval', { groups: r.groups })),
    ]);
    if (!out) throw new ConflictError('The extension changed just now; look again.');
    if (ask.post)
      await deps.messenger
        .update(ask.post.channel, ask.post.ts, extensionAskMessage(out.request, { ...ask, approvals: all }))
        .catch(() => undefined);
    return { ...out, text: `Approved (${all.length} of ${needed}): it needs another approver.` };
  }
  if (grant.extensions >= maxExtensions(r))
    throw new ConflictError(
      `This membership was extended ${grant.extensions} times already: the most its groups allow.`,
    );
  const { extensionAsk: _, ...rest } = grant;
  // the run, woken by this write, tells of it (extensionApprovedSteps): a click killed after it loses nothing
  const next: GrantState = {
    ...rest,
    endsAt: ask.to,
    extensions: grant.extensions + 1,
    extensionApproved: { ...ask, approvals: all },
  };
  const out = await signalRun(deps, r, { grant: next }, (n) => [
    deps.store.audit.transactionItem(
      auditEvent(deps, n, who, 'grant.extended', {
        groups: r.groups,
        from: ask.from,
        endsAt: ask.to,
        extensions: next.extensions,
        askedBy: ask.by,
        approvals: all,
      }),
    ),
  ]);
  if (!out) throw new ConflictError('The extension changed just now; look again.');
  return { ...out, text: extendedText(r, ask.to) };
}

const extendedText = (r: AccessRequest, to: string) =>
  `Extended: IAM user ${r.userName} stays in ${r.groups.join(', ')} until ${when(to)}.`;

/**
 * Worker, the run's steps that tell of an approved extension (`grant.extensionApproved`, see the wait step in
 * ./run.ts): `post` brings the ask's post in the approval channel up to date (Approved by …, buttons gone), `dm` tells
 * its asker. Each is a step of its own, so a part killed after one does not repeat the other.
 */
export async function tellExtensionApproved(deps: ExtensionDeps, r: AccessRequest, part: 'post' | 'dm'): Promise<void> {
  const ask = r.grant?.extensionApproved;
  if (!ask) return;
  const approvals = ask.approvals ?? [];
  if (part === 'post') {
    if (ask.post)
      await deps.messenger.update(
        ask.post.channel,
        ask.post.ts,
        extensionAskMessage(
          r,
          ask,
          `:white_check_mark: Approved by ${approvals.map(user).join(', ')}: it now ends ${at(ask.to)}.`,
        ),
      );
    return;
  }
  await deps.messenger.post(ask.by, {
    text: `Your extension was approved: IAM user ${r.userName} stays in ${r.groups.join(', ')} until ${when(ask.to)}.`,
  });
}

/**
 * Deny on an extension ask, by `who`: an approver of one of the groups (authorizeDenier), not its asker. The ask is
 * removed (the end stays), in one conditional write with its audit event; the asker is told.
 */
export async function denyExtension(
  deps: ExtensionDeps,
  value: string,
  who: string,
): Promise<{ request: AccessRequest; text: string }> {
  const { r, grant, ask } = pendingAsk(await readAsk(deps, value));
  if (who === ask.by) throw new NotAuthorizedError('You asked for this extension, so you cannot deny it.');
  await authorizeDenier(deps, r, who);
  const { extensionAsk: _, ...rest } = grant;
  const next = await deps.store.requests.update(r, { grant: rest }, deps.clock.now(), [], (n) => [
    deps.store.audit.transactionItem(
      auditEvent(deps, n, who, 'grant.extension-denied', { groups: r.groups, from: ask.from, endsAt: ask.to }),
    ),
  ]);
  if (!next) throw new ConflictError('The extension changed just now; look again.');
  await tellDecision(
    deps,
    next,
    ask,
    `:no_entry: Denied by ${user(who)}: it still ends ${at(ask.from)}.`,
    `Your extension of ${r.groups.join(', ')} was denied by <@${who}>: IAM user ${r.userName} is removed ${when(ask.from)}.`,
  );
  return { request: next, text: `Denied: the membership still ends ${when(ask.from)}.` };
}
