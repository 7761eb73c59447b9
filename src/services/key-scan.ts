/**
 * The daily key-age scan: one job per account (see src/jobs/key-scan.ts) reads every user's keys from IAM's credential
 * report (two IAM calls for the whole account), joins owners and key ids from the ownership projection (ListAccessKeys
 * only for a due key's user whose keys the projection does not know), and applies the policy's ladder to each active
 * key: reminders before `maxAgeDays`, an overdue notice at it and repeats, one escalation post in the approval channel,
 * optional automatic deactivation, and a suggestion to deactivate keys that are idle or never used.
 *
 * Each step is sent once per key whatever happens to the run: it is claimed in DynamoDB with a conditional write
 * before it is sent (src/store/reminders.ts), and given back (deferred) when the send fails, so the next run sends it.
 * One DM per owner per run lists every due key of theirs.
 */
import { UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import {
  type DueKey,
  type DueNote,
  type EscalatedKey,
  keyEscalationMessage,
  keyReminderMessage,
  mfaEscalationMessage,
  mfaReminderMessage,
  type NoMfaDue,
  type UnownedKey,
  unownedKeysMessage,
} from '../blocks/key-reminders.js';
import { DAY } from '../clock.js';
import { type Policy, reminderDaysOf } from '../config.js';
import type { Deps } from '../deps.js';
import { logger } from '../logger.js';
import { stepId } from '../store/reminders.js';
import type { ProjectedKey, ProjectedUser } from '../store/users.js';
import { errorName } from './provisioning.js';
import { userChanged } from './user-changes.js';
import { counting, credentialReport, listKeys, type ReportRow, realSleep, sameKeys } from './user-projection.js';

/** One ladder step of one key. `dm`: told to the owner; `channel`: posted in the approval channel. */
export interface LadderStep {
  /** Unique per key: `remind-<age>`, `overdue-<n>`, `escalate`, `deactivate`, `deactivate-dry-run`, `idle-<last use>`. */
  name: string;
  note?: DueNote;
  dm: boolean;
  channel?: EscalatedKey['what'];
}

const wholeDays = (ms: number) => Math.floor(ms / DAY);

/**
 * The ladder steps an active key is at now (pure). `snoozedDays` delays the owner's steps (reminders, overdue notices,
 * the idle suggestion) by that many days; escalation and deactivation follow the key's real age. Only the latest
 * reminder and the current overdue repeat are returned: a step passed while nobody looked is not sent late.
 */
export function ladderSteps(
  key: Pick<ProjectedKey, 'createdAt' | 'lastUsedAt'>,
  now: Date,
  keys: Policy['keys'],
  snoozedDays = 0,
): LadderStep[] {
  const age = wholeDays(now.getTime() - Date.parse(key.createdAt));
  const effective = age - snoozedDays;
  const steps: LadderStep[] = [];
  if (effective >= keys.maxAgeDays) {
    const repeat = Math.floor((effective - keys.maxAgeDays) / keys.overdueRepeatDays);
    steps.push({ name: `overdue-${repeat}`, note: 'overdue', dm: true });
  } else {
    const reminder = reminderDaysOf(keys)
      .filter((d) => d <= effective)
      .at(-1);
    if (reminder !== undefined) steps.push({ name: `remind-${reminder}`, note: 'reminder', dm: true });
  }
  const idleSince = key.lastUsedAt ? wholeDays(now.getTime() - Date.parse(key.lastUsedAt)) : effective;
  if (effective >= keys.idleDays && idleSince >= keys.idleDays)
    steps.push({ name: `idle-${key.lastUsedAt ?? 'never'}`, note: 'idle', dm: true });
  if (age >= keys.maxAgeDays + keys.escalateAfterDays) steps.push({ name: 'escalate', dm: false, channel: 'escalate' });
  const { mode, afterDays } = keys.autoDeactivate;
  if (mode !== 'off' && age >= keys.maxAgeDays + afterDays)
    steps.push(
      mode === 'on'
        ? { name: 'deactivate', note: 'deactivated', dm: true, channel: 'deactivated' }
        : { name: 'deactivate-dry-run', dm: false, channel: 'would-deactivate' },
    );
  return steps;
}

/**
 * The MFA ladder's steps for a console user without MFA whose password was set `since` (pure): the key-age ladder
 * (latest reminder, current overdue repeat, one escalation) on the policy's `mfa` days, without the idle and
 * deactivation steps. Step names start with `mfa-`.
 */
export function mfaLadderSteps(since: string, now: Date, mfa: Policy['mfa']): LadderStep[] {
  const age = wholeDays(now.getTime() - Date.parse(since));
  const steps: LadderStep[] = [];
  if (age >= mfa.maxDays) {
    const repeat = Math.floor((age - mfa.maxDays) / mfa.overdueRepeatDays);
    steps.push({ name: `mfa-overdue-${repeat}`, note: 'overdue', dm: true });
  } else {
    const reminder = [...mfa.reminderDays]
      .sort((a, b) => a - b)
      .filter((d) => d <= age && d < mfa.maxDays)
      .at(-1);
    if (reminder !== undefined) steps.push({ name: `mfa-remind-${reminder}`, note: 'reminder', dm: true });
  }
  if (age >= mfa.maxDays + mfa.escalateAfterDays) steps.push({ name: 'mfa-escalate', dm: false, channel: 'escalate' });
  return steps;
}

/** A console user without MFA with ladder steps due. */
interface MfaEntry {
  user: ProjectedUser;
  days: number;
  steps: LadderStep[];
}

/** The claim of an MFA step: per user (lower-case, as IAM names are unique regardless of case). */
const mfaStepId = (account: string, userName: string, step: string) =>
  stepId(account, `mfa:${userName.toLowerCase()}`, step);

/** A due key of a projected user, with what the report says of its use. */
interface DueEntry {
  user: ProjectedUser;
  key: ProjectedKey;
  ageDays: number;
  steps: LadderStep[];
}

/** What a reminder or a channel list shows of a due key (no note yet). */
const dueKeyOf = (account: string, d: DueEntry): DueKey => ({
  account,
  userName: d.user.userName,
  keyId: d.key.id,
  ageDays: d.ageDays,
  ...(d.key.lastUsedAt ? { lastUsedAt: d.key.lastUsedAt } : {}),
  ...(d.key.lastUsedService ? { lastUsedService: d.key.lastUsedService } : {}),
  notes: [],
});

/**
 * Which of these owners nobody can DM, and why (by default none): `left`, Slack says deactivated; `unknown`, Slack
 * does not know the id (user_not_found: a mistyped tag, another workspace's id), which is not someone who left. Their
 * keys are listed in the approval channel instead of DMed. Asked only for the owners of the current part.
 */
export type OwnersWhoLeft = (owners: readonly string[]) => Promise<ReadonlyMap<string, 'left' | 'unknown'>>;

/**
 * The most owners one part of a scan handles when the caller sets no `maxOwners`: their users.info lookups are
 * made by that part (users.info is tier 4, about 100 a minute), so a part never asks about owners it will not reach.
 */
export const OWNERS_PER_PART = 100;

export interface KeyScanOptions {
  /** Names this run's claims (a job id and a random suffix): only this run settles them. */
  runId: string;
  /** The day of the run (`YYYY-MM-DD`): the unowned list is posted once a day per account. */
  day: string;
  /** Resume after this owner (the cursor of an earlier part of the run); owners are processed in sort order. */
  after?: string;
  /** Budget: owners handled in this part at most (tests); then the rest is handed to a continuation. */
  maxOwners?: number;
  /** Budget: true once this part should stop (the worker's time limit); checked before each owner. */
  outOfTime?: () => boolean;
  /** Pause between two Slack posts (Slack allows about one message a second per channel; bursts are retried on 429). */
  paceMs?: number;
  ownersWhoLeft?: OwnersWhoLeft;
  reportWaitMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** What one part of a scan did: logged and returned. */
export interface KeyScanResult {
  account: string;
  /** Active keys of projected users the report lists, and those with a step due. */
  activeKeys: number;
  dueKeys: number;
  /** Console users without MFA with a step due. */
  noMfaDue?: number;
  /** Owners of due keys (for the leavers check: see OwnersWhoLeft) and how many this part handled. */
  owners: string[];
  ownersHandled: number;
  /** DMs and channel posts sent. */
  sent: number;
  posted: number;
  /** Steps not sent: already sent (or being sent) by another run, or held by a snooze. */
  skipped: number;
  /** Steps whose send failed: given back, the next run sends them. */
  deferred: number;
  escalated: number;
  deactivated: number;
  unowned: number;
  iamCalls: number;
  /** Set when the budget ran out: the owner to resume after. */
  next?: string;
}

/** The cursor key of keys nobody can be reminded of: sorts after every Slack user id. */
const NOBODY = '~nobody';

/**
 * Scans one account's access keys and sends what the ladder says is due, each step once per key (claimed before it is
 * sent, deferred when the send fails) whatever reruns, retries or overlapping runs happen. Handles owners in sort
 * order until the budget runs out, then returns `next`: a later call with `after: next` finishes the run.
 */
export async function scanAccountKeys(deps: Deps, account: string, options: KeyScanOptions): Promise<KeyScanResult> {
  const { policy } = deps.config;
  const keysPolicy = policy.keys;
  const now = deps.clock.now();
  const iam = counting(deps.aws.account(account).iam);
  const [report, projected] = await Promise.all([
    credentialReport(iam, options.reportWaitMs ?? 20_000, options.sleep ?? realSleep),
    deps.store.users.ofAccount(account),
  ]);
  if (!report) throw new Error(`The credential report of ${account} was not ready in time`);
  const result: KeyScanResult = {
    account,
    activeKeys: 0,
    dueKeys: 0,
    owners: [],
    ownersHandled: 0,
    sent: 0,
    posted: 0,
    skipped: 0,
    deferred: 0,
    escalated: 0,
    deactivated: 0,
    unowned: 0,
    iamCalls: 0,
  };

  // Due keys, from the report alone; key ids from the projection, or ListAccessKeys where it does not know them.
  const due: DueEntry[] = [];
  for (const user of projected) {
    const row = report.rows.get(user.userName);
    if (!row) continue; // created after the report: its keys are younger than any step
    const active = row.keys.filter((k) => k.active);
    result.activeKeys += active.length;
    const dueKeys = active
      .map((k) => ({ k, steps: ladderSteps(k, now, keysPolicy) }))
      .filter((d) => d.steps.length > 0);
    if (!dueKeys.length) continue;
    const ids = sameKeys(user.keys, row.keys) ? user.keys : await listKeys(iam, user.userName);
    const taken = new Set<string>();
    for (const { k, steps } of dueKeys) {
      // matched by creation time (to the second, the report's precision): two keys made in one second take one each
      const known = ids.find(
        (x) => x.createdAt.slice(0, 19) === k.createdAt.slice(0, 19) && x.status === 'Active' && !taken.has(x.id),
      );
      if (!known) continue; // changed since the report: the next run sees it
      taken.add(known.id);
      due.push({
        user,
        key: withUse(known, k),
        ageDays: wholeDays(now.getTime() - Date.parse(k.createdAt)),
        steps,
      });
    }
  }
  result.dueKeys = due.length;
  // Console users without MFA (the report's mfa_active), on the MFA ladder from when the password was set.
  const mfaDue: MfaEntry[] = [];
  if (policy.mfa.remind)
    for (const user of projected) {
      const row = report.rows.get(user.userName);
      if (!row?.console || row.mfa) continue;
      const since = (user.console ? user.consoleSince : undefined) ?? row.consoleSince;
      if (!since) continue;
      const steps = mfaLadderSteps(since, now, policy.mfa);
      if (steps.length) mfaDue.push({ user, days: wholeDays(now.getTime() - Date.parse(since)), steps });
    }
  result.noMfaDue = mfaDue.length;
  const owners = [
    ...new Set([...due, ...mfaDue].map((d) => d.user.owner).filter((o): o is string => Boolean(o))),
  ].sort();
  result.owners = owners;
  const groupOf = (d: { user: ProjectedUser }) => d.user.owner ?? NOBODY;
  const groups = new Map<string, DueEntry[]>();
  for (const d of due) groups.set(groupOf(d), [...(groups.get(groupOf(d)) ?? []), d]);
  const mfaGroups = new Map<string, MfaEntry[]>();
  for (const d of mfaDue) mfaGroups.set(groupOf(d), [...(mfaGroups.get(groupOf(d)) ?? []), d]);
  const order = [...new Set([...groups.keys(), ...mfaGroups.keys()])]
    .sort()
    .filter((g) => options.after === undefined || g > options.after);
  const perPart = options.maxOwners ?? OWNERS_PER_PART;
  // Slack is asked only about the owners this part can reach (the next part asks about its own)
  const left =
    (await options.ownersWhoLeft?.(order.slice(0, perPart).filter((g) => g !== NOBODY))) ??
    new Map<string, 'left' | 'unknown'>();

  let lastPost = 0;
  const paced = async <T>(send: () => Promise<T>) => {
    const wait = lastPost + (options.paceMs ?? 0) - Date.now();
    if (wait > 0) await (options.sleep ?? realSleep)(wait);
    try {
      return await send();
    } finally {
      lastPost = Date.now();
    }
  };
  const claim = async (d: DueEntry, step: LadderStep) => {
    const id = stepId(account, d.key.id, step.name);
    const won = await deps.store.reminders.claim(id, options.runId, deps.clock.now());
    if (!won) result.skipped++;
    return won ? id : undefined;
  };
  const channelItems: { id: string; key: EscalatedKey }[] = [];
  const mfaChannelItems: { id: string; user: NoMfaDue }[] = [];
  /** One owner's console users without MFA: their DM steps claimed and sent in one DM (none for nobody), escalations queued. */
  const remindMfa = async (entries: readonly MfaEntry[], owner: string | undefined) => {
    const dm: { id: string; user: NoMfaDue }[] = [];
    for (const d of entries) {
      const shown: NoMfaDue = {
        account,
        userName: d.user.userName,
        days: d.days,
        note: d.steps.some((s) => s.note === 'overdue') ? 'overdue' : 'reminder',
        ...(d.user.owner ? { owner: d.user.owner } : {}),
      };
      for (const step of d.steps) {
        if (!owner && !step.channel) continue; // nobody to DM: the report lists them, the escalation names them
        const id = mfaStepId(account, d.user.userName, step.name);
        if (!(await deps.store.reminders.claim(id, options.runId, deps.clock.now()))) {
          result.skipped++;
          continue;
        }
        (step.channel ? mfaChannelItems : dm).push({ id, user: shown });
      }
    }
    if (!owner || !dm.length) return;
    const ids = dm.map((x) => x.id);
    try {
      await paced(() =>
        deps.messenger.post(owner, mfaReminderMessage({ users: dm.map((x) => x.user), maxDays: policy.mfa.maxDays })),
      );
      await deps.store.reminders.markSent(ids, options.runId, deps.clock.now());
      result.sent++;
    } catch (error) {
      logger.warn('MFA reminder DM failed; deferred to the next run', { account, owner, errorName: errorName(error) });
      await deps.store.reminders.defer(ids, options.runId, deps.clock.now());
      result.deferred += ids.length;
    }
  };

  for (const [i, group] of order.entries()) {
    if (i > 0 && (i >= perPart || options.outOfTime?.())) {
      result.next = order[i - 1];
      break;
    }
    result.ownersHandled++;
    const entries = groups.get(group) ?? [];
    // nobody to DM: no owner, or one Slack says left or does not know (listed in the approval channel, with why)
    const nobody = group === NOBODY || left.has(group);
    await remindMfa(mfaGroups.get(group) ?? [], nobody ? undefined : group);
    if (!entries.length) continue;
    // the keys of one owner at once (their claims are independent); the DM lists them in the order found
    const perKey = await Promise.all(
      entries.map(async (d): Promise<{ ids: string[]; key: DueKey } | undefined> => {
        let steps = d.steps;
        if (!nobody && steps.some((s) => s.dm)) {
          const snooze = await deps.store.reminders.snoozeOf(account, d.key.id);
          if (snooze && Date.parse(snooze.until) > now.getTime()) {
            result.skipped += steps.filter((s) => s.dm && !s.channel).length;
            steps = steps.filter((s) => !s.dm || s.channel);
          } else if (snooze) steps = ladderSteps(d.key, now, keysPolicy, snooze.days);
        }
        const base = dueKeyOf(account, d);
        const dmIds: string[] = [];
        for (const step of steps) {
          if (nobody && !step.channel) continue; // nobody to DM: listed below instead
          const id = await claim(d, step);
          if (!id) continue;
          if (step.name === 'deactivate' && !(await deactivate(deps, account, d, options.runId))) {
            await deps.store.reminders.defer([id], options.runId, deps.clock.now());
            result.deferred++;
            continue;
          }
          if (step.name === 'deactivate') result.deactivated++;
          if (step.dm && !nobody) {
            dmIds.push(id);
            if (step.note) base.notes.push(step.note);
          }
          if (step.channel) {
            channelItems.push({
              id,
              key: { ...base, notes: [], what: step.channel, ...(d.user.owner ? { owner: d.user.owner } : {}) },
            });
          }
        }
        return dmIds.length ? { ids: dmIds, key: base } : undefined;
      }),
    );
    const dmItems = perKey.filter((x) => x !== undefined);
    if (nobody) {
      // once a day per account for the unowned keys, and per owner for an owner nobody can DM
      await listUnowned(deps, account, entries, left, options, result, paced, group === NOBODY ? '' : `#${group}`);
      continue;
    }
    if (!dmItems.length) continue;
    const ids = dmItems.flatMap((x) => x.ids);
    try {
      await paced(() =>
        deps.messenger.post(
          group,
          keyReminderMessage({
            keys: dmItems.map((x) => x.key),
            maxAgeDays: keysPolicy.maxAgeDays,
            snoozeDays: keysPolicy.snooze.days,
          }),
        ),
      );
      await deps.store.reminders.markSent(ids, options.runId, deps.clock.now());
      result.sent++;
    } catch (error) {
      logger.warn('Key reminder DM failed; deferred to the next run', {
        account,
        owner: group,
        errorName: errorName(error),
      });
      await deps.store.reminders.defer(ids, options.runId, deps.clock.now());
      result.deferred += ids.length;
    }
  }

  if (channelItems.length) {
    const ids = channelItems.map((c) => c.id);
    try {
      await paced(() =>
        deps.messenger.post(
          policy.approvals.channel,
          keyEscalationMessage({ account, keys: channelItems.map((c) => c.key), maxAgeDays: keysPolicy.maxAgeDays }),
        ),
      );
      await deps.store.reminders.markSent(ids, options.runId, deps.clock.now());
      result.posted++;
      result.escalated += channelItems.filter((c) => c.key.what === 'escalate').length;
    } catch (error) {
      logger.warn('Key escalation post failed; deferred to the next run', { account, errorName: errorName(error) });
      await deps.store.reminders.defer(ids, options.runId, deps.clock.now());
      result.deferred += ids.length;
    }
  }
  if (mfaChannelItems.length) {
    const ids = mfaChannelItems.map((c) => c.id);
    try {
      await paced(() =>
        deps.messenger.post(
          policy.approvals.channel,
          mfaEscalationMessage({ account, users: mfaChannelItems.map((c) => c.user), maxDays: policy.mfa.maxDays }),
        ),
      );
      await deps.store.reminders.markSent(ids, options.runId, deps.clock.now());
      result.posted++;
      result.escalated += ids.length;
    } catch (error) {
      logger.warn('MFA escalation post failed; deferred to the next run', { account, errorName: errorName(error) });
      await deps.store.reminders.defer(ids, options.runId, deps.clock.now());
      result.deferred += ids.length;
    }
  }
  result.iamCalls = iam.calls;
  return result;
}

/** The report's last use on the projected (or listed) key. */
function withUse(key: ProjectedKey, row: ReportRow['keys'][number]): ProjectedKey {
  const { lastUsedAt: _a, lastUsedService: _s, lastUsedRegion: _r, ...base } = key;
  return {
    ...base,
    ...(row.lastUsedAt ? { lastUsedAt: row.lastUsedAt } : {}),
    ...(row.lastUsedService ? { lastUsedService: row.lastUsedService } : {}),
    ...(row.lastUsedRegion ? { lastUsedRegion: row.lastUsedRegion } : {}),
  };
}

/** Deactivates a key past the auto-deactivation age (audited; the projection follows). False when IAM refused. */
async function deactivate(deps: Deps, account: string, d: DueEntry, runId: string): Promise<boolean> {
  try {
    await deps.aws
      .account(account)
      .iam.send(new UpdateAccessKeyCommand({ UserName: d.user.userName, AccessKeyId: d.key.id, Status: 'Inactive' }));
  } catch (error) {
    logger.error('Automatic deactivation of an old key failed', { account, errorName: errorName(error) });
    return false;
  }
  await deps.store.audit.record({
    subject: `key#${account}#${d.key.id}`,
    at: deps.clock.now(),
    actor: 'system',
    action: 'key.auto-deactivated',
    detail: {
      account,
      userName: d.user.userName,
      keyId: d.key.id,
      ageDays: d.ageDays,
      owner: d.user.owner ?? null,
      runId,
    },
  });
  await userChanged(deps, account, d.user.userName);
  return true;
}

/** The day's list of due keys nobody can be reminded of, in the approval channel: once a day per account. */
async function listUnowned(
  deps: Deps,
  account: string,
  entries: readonly DueEntry[],
  left: ReadonlyMap<string, 'left' | 'unknown'>,
  options: KeyScanOptions,
  result: KeyScanResult,
  paced: <T>(send: () => Promise<T>) => Promise<T>,
  claimSuffix = '',
) {
  const keys: UnownedKey[] = entries.map((d) => {
    const state = d.user.owner ? left.get(d.user.owner) : undefined;
    return {
      ...dueKeyOf(account, d),
      ...(d.user.owner && state ? { formerOwner: d.user.owner, ownerState: state } : {}),
    };
  });
  result.unowned += keys.length;
  const id = `unowned#${account}#${options.day}${claimSuffix}`;
  if (!(await deps.store.reminders.claim(id, options.runId, deps.clock.now()))) {
    result.skipped++;
    return;
  }
  try {
    await paced(() => deps.messenger.post(deps.config.policy.approvals.channel, unownedKeysMessage({ account, keys })));
    await deps.store.reminders.markSent([id], options.runId, deps.clock.now());
    result.posted++;
  } catch (error) {
    logger.warn('Unowned keys post failed; deferred to the next run', { account, errorName: errorName(error) });
    await deps.store.reminders.defer([id], options.runId, deps.clock.now());
    result.deferred++;
  }
}
