/**
 * The ownership projection: what the bot knows of the IAM users under the managed paths (owner, groups, console
 * access, keys), kept in DynamoDB so that `/iam users` and `/iam user` never scan IAM.
 *
 * It is written from IAM in two ways:
 * - after every change the bot makes to a user (`readUser`: a live read of that one user, see user-changes.ts);
 * - by the scheduled refresh of each account (`refreshAccount`), with as few IAM calls as IAM allows:
 *   GetAccountAuthorizationDetails (filter User) gives path, tags (the owner) and groups of up to 1,000 users per call;
 *   the credential report (GenerateCredentialReport, GetCredentialReport: one call each for the whole account) gives
 *   console access and each key's status, creation date and last use. What the report lacks is the keys' ids: those
 *   come from ListAccessKeys, called only for a user whose keys (by creation date and status) are not the ones the
 *   projection holds already. A user the report does not know yet (created after it) is read live. In steady state
 *   a refresh makes a handful of calls per account whatever its size; the first one adds one ListAccessKeys per user
 *   with a key.
 *
 * IAM generates a credential report at most every four hours: key and console changes made outside the bot show up
 * within that delay (the bot's own changes at once). An observation never replaces a newer one (`keysObservedAt`).
 */
import {
  GenerateCredentialReportCommand,
  GetAccessKeyLastUsedCommand,
  GetAccountAuthorizationDetailsCommand,
  GetCredentialReportCommand,
  GetLoginProfileCommand,
  GetUserCommand,
  type GetUserCommandOutput,
  type IAMClient,
  ListAccessKeysCommand,
  ListGroupsForUserCommand,
  ListMFADevicesCommand,
  type Tag,
} from '@aws-sdk/client-iam';
import { parse as parseCsv } from 'csv-parse/sync';
import type { Policy } from '../config.js';
import type { Deps } from '../deps.js';
import { logger } from '../logger.js';
import type { ProjectedKey, ProjectedState } from '../store/users.js';
import { errorName, REQUEST_ID_TAG } from './provisioning.js';

/** The tag that names an IAM user's owner (a Slack user id). create-user sets it to the recipient. */
export const OWNER_TAG = 'slack-user-id';
const SLACK_USER_ID = /^[UW][A-Z0-9]{2,}$/;

/** The owner named by a user's tags, if its `slack-user-id` tag holds a Slack user id. */
export function ownerFromTags(tags: readonly Tag[] | undefined): string | undefined {
  const value = tags?.find((t) => t.Key === OWNER_TAG)?.Value?.trim();
  return value && SLACK_USER_ID.test(value) ? value : undefined;
}

/** Whether a path is under one of the managed paths (the roles grant `user<path>*`, sub-paths included). */
export const isManagedPath = (paths: readonly string[], path: string) => paths.some((p) => path.startsWith(p));

/** Every IAM path the policy manages users under. */
export const managedUserPaths = (policy: Policy) => [...new Set([policy.users.path, ...policy.users.managedPaths])];

/** An IAM client that counts its calls (the refresh reports them). */
export interface CountingIam {
  send: IAMClient['send'];
  calls: number;
}
export function counting(iam: IAMClient): CountingIam {
  const c: CountingIam = {
    calls: 0,
    send: ((command: never) => {
      c.calls++;
      return iam.send(command);
    }) as IAMClient['send'],
  };
  return c;
}

const iso = (d: Date | undefined) => (d ? d.toISOString() : undefined);
const isNoSuchEntity = (error: unknown) => (error as { name?: string })?.name === 'NoSuchEntityException';

/** Console access of one user, read live: its console password, and (only for a console user) its MFA devices. */
export interface LiveConsole {
  console: boolean;
  /** Set when the user has a console password: whether an MFA device is in use. */
  mfa?: boolean;
  consoleSince?: string;
}

/**
 * Keys and console access of one user, read live: ListAccessKeys, GetAccessKeyLastUsed per key, GetLoginProfile, and
 * ListMFADevices only when there is a console password (MFA is asked of console users: CIS 1.10, Security Hub IAM.5).
 */
async function readKeysAndConsole(
  iam: CountingIam,
  userName: string,
  listed?: ProjectedKey[],
): Promise<{ keys: ProjectedKey[] } & LiveConsole> {
  const [keys, consoleState] = await Promise.all([
    (async () => {
      const base = listed ?? (await listKeys(iam, userName));
      return Promise.all(
        base.map(async (key) => {
          const used = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: key.id }));
          const last = used.AccessKeyLastUsed;
          const known = (v: string | undefined) => (v && v !== 'N/A' ? v : undefined);
          return withoutUndefined({
            ...key,
            lastUsedAt: iso(last?.LastUsedDate),
            lastUsedService: known(last?.ServiceName),
            lastUsedRegion: known(last?.Region),
          });
        }),
      );
    })(),
    readConsole(iam, userName),
  ]);
  return { keys: sortKeys(keys), ...consoleState };
}

async function readConsole(iam: CountingIam, userName: string): Promise<LiveConsole> {
  let since: string | undefined;
  try {
    const profile = await iam.send(new GetLoginProfileCommand({ UserName: userName }));
    since = iso(profile.LoginProfile?.CreateDate);
  } catch (error) {
    if (isNoSuchEntity(error)) return { console: false };
    throw error;
  }
  const devices = await iam.send(new ListMFADevicesCommand({ UserName: userName, MaxItems: 10 }));
  return withoutUndefined({ console: true, mfa: (devices.MFADevices ?? []).length > 0, consoleSince: since });
}

export async function listKeys(iam: CountingIam, userName: string): Promise<ProjectedKey[]> {
  const out = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
  return sortKeys(
    (out.AccessKeyMetadata ?? []).map((k) => ({
      id: k.AccessKeyId ?? '',
      status: k.Status === 'Inactive' ? ('Inactive' as const) : ('Active' as const),
      createdAt: iso(k.CreateDate) ?? '',
    })),
  );
}

const sortKeys = (keys: ProjectedKey[]) => [...keys].sort((a, b) => a.createdAt.localeCompare(b.createdAt));

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export type LiveRead =
  | { state: 'found'; user: ProjectedState; createdByRequest?: string }
  | { state: 'gone' }
  | { state: 'unmanaged' };

/**
 * Reads one IAM user live (GetUser, then ListGroupsForUser, ListAccessKeys, GetLoginProfile and GetAccessKeyLastUsed
 * per key), as the projection holds it. `unmanaged`: the user is not under the managed paths (nothing more is read).
 */
export async function readUser(
  iam: IAMClient,
  policy: Policy,
  account: string,
  userName: string,
  now: Date,
): Promise<LiveRead> {
  const c = counting(iam);
  let user: GetUserCommandOutput;
  try {
    user = await iam.send(new GetUserCommand({ UserName: userName }));
  } catch (error) {
    if (isNoSuchEntity(error)) return { state: 'gone' };
    throw error;
  }
  const path = user.User?.Path ?? '/';
  if (!isManagedPath(managedUserPaths(policy), path)) return { state: 'unmanaged' };
  const name = user.User?.UserName ?? userName;
  const [groups, access] = await Promise.all([
    c.send(new ListGroupsForUserCommand({ UserName: name, MaxItems: 100 })),
    readKeysAndConsole(c, name),
  ]);
  const owner = ownerFromTags(user.User?.Tags);
  const createdByRequest = user.User?.Tags?.find((t) => t.Key === REQUEST_ID_TAG)?.Value;
  return {
    state: 'found',
    user: {
      account,
      userName: name,
      path,
      ...(owner ? { owner } : {}),
      groups: (groups.Groups ?? []).map((g) => g.GroupName ?? '').sort(),
      console: access.console,
      ...(access.mfa === undefined ? {} : { mfa: access.mfa }),
      ...(access.consoleSince ? { consoleSince: access.consoleSince } : {}),
      keys: access.keys,
      keysObservedAt: now.toISOString(),
      refreshedAt: now.toISOString(),
    },
    ...(createdByRequest ? { createdByRequest } : {}),
  };
}

/** One user's row of the credential report. */
export interface ReportRow {
  console: boolean;
  /** `mfa_active`: whether the user has an MFA device in use. */
  mfa: boolean;
  /** When the console password was set (`password_last_changed`, else the user's creation), for a console user. */
  consoleSince?: string;
  keys: {
    active: boolean;
    createdAt: string;
    lastUsedAt?: string;
    lastUsedService?: string;
    lastUsedRegion?: string;
  }[];
}

export interface CredentialReport {
  generatedAt: string;
  /** By IAM user name. */
  rows: Map<string, ReportRow>;
}

/**
 * Parses IAM's credential report (CSV, with csv-parse). User names and paths may hold commas, which the report does not
 * quote: such a row has more fields than the header, and the columns after the ARN are found from the end of the row.
 */
export function parseCredentialReport(csv: string, generatedAt: string): CredentialReport {
  const records: string[][] = parseCsv(csv, {
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    trim: false,
  });
  const [columns = [], ...lines] = records;
  const rows = new Map<string, ReportRow>();
  for (const fields of lines) {
    const shift = fields.length - columns.length;
    const at = (name: string) => {
      const i = columns.indexOf(name);
      return i < 0 ? undefined : fields[i < 2 ? i : i + shift];
    };
    const arn = fields.slice(1, 2 + shift).join(',');
    if (!arn.includes(':user/')) continue; // the root account's row
    const userName = arn.slice(arn.lastIndexOf('/') + 1);
    if (!userName) continue;
    const value = (v: string | undefined) =>
      v && !['N/A', 'not_supported', 'no_information'].includes(v) ? v : undefined;
    const date = (v: string | undefined) => {
      const d = value(v);
      return d && !Number.isNaN(Date.parse(d)) ? new Date(d).toISOString() : undefined;
    };
    const keys: ReportRow['keys'] = [];
    for (const n of [1, 2]) {
      const createdAt = date(at(`access_key_${n}_last_rotated`));
      if (!createdAt) continue;
      keys.push(
        withoutUndefined({
          active: at(`access_key_${n}_active`) === 'true',
          createdAt,
          lastUsedAt: date(at(`access_key_${n}_last_used_date`)),
          lastUsedService: value(at(`access_key_${n}_last_used_service`)),
          lastUsedRegion: value(at(`access_key_${n}_last_used_region`)),
        }),
      );
    }
    const console = at('password_enabled') === 'true';
    rows.set(
      userName,
      withoutUndefined({
        console,
        mfa: at('mfa_active') === 'true',
        consoleSince: console ? (date(at('password_last_changed')) ?? date(at('user_creation_time'))) : undefined,
        keys,
      }),
    );
  }
  return { generatedAt, rows };
}

/** Options of the scheduled refresh (tests shorten the wait for the report). */
export interface RefreshOptions {
  /** How long to wait for IAM to generate the credential report before refreshing without it. */
  reportWaitMs?: number;
  /** Users refreshed at once. */
  concurrency?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Refresh only the users whose name sorts after this one (a continuation part: the ones before are done). */
  after?: string;
  /**
   * Stop after this many users that cost an IAM call or a write (`next` says where to go on from); an unchanged user
   * costs neither and is not counted, so a refresh cut short goes further the next time.
   */
  maxUsers?: number;
  /**
   * Asked before each user is started, with the longest time one user has taken so far in this refresh: true stops
   * the refresh there (`next` says where to go on from), so that no user is started that could not finish in time.
   */
  outOfTime?: (reserveMs: number) => boolean;
}

export const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The account's credential report: generated if needed (waiting up to `waitMs`), undefined if not ready by then. */
export async function credentialReport(iam: CountingIam, waitMs: number, sleep: (ms: number) => Promise<void>) {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    const state = await iam.send(new GenerateCredentialReportCommand({}));
    if (state.State === 'COMPLETE') break;
    if (Date.now() - started >= waitMs) return undefined;
    await sleep(Math.min(200 * 2 ** attempt, 2000));
  }
  const report = await iam.send(new GetCredentialReportCommand({}));
  const content = report.Content ? Buffer.from(report.Content).toString('utf8') : '';
  return parseCredentialReport(content, iso(report.GeneratedTime) ?? new Date(0).toISOString());
}

interface DetailUser {
  UserName?: string;
  Path?: string;
  GroupList?: string[];
  Tags?: Tag[];
}

/** Every user under the managed paths, with path, tags and groups: GetAccountAuthorizationDetails, 1,000 a page. */
async function managedUsers(iam: CountingIam, paths: readonly string[]): Promise<DetailUser[]> {
  const users: DetailUser[] = [];
  let marker: string | undefined;
  do {
    const page = await iam.send(
      new GetAccountAuthorizationDetailsCommand({ Filter: ['User'], MaxItems: 1000, Marker: marker }),
    );
    for (const u of page.UserDetailList ?? []) if (u.UserName && isManagedPath(paths, u.Path ?? '/')) users.push(u);
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  return users;
}

/** The same keys, by creation time (to the second: the report's precision) and status. */
export function sameKeys(projected: readonly ProjectedKey[], reported: ReportRow['keys']): boolean {
  const sig = (createdAt: string, active: boolean) => `${createdAt.slice(0, 19)}|${active}`;
  const a = projected.map((k) => sig(k.createdAt, k.status === 'Active')).sort();
  const b = reported.map((k) => sig(k.createdAt, k.active)).sort();
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The same keys by id and status (what ListAccessKeys tells, against what is projected). */
function sameKeyIds(listed: readonly ProjectedKey[], projected: readonly ProjectedKey[]): boolean {
  const sig = (k: ProjectedKey) => `${k.id}|${k.status}`;
  const a = listed.map(sig).sort();
  const b = projected.map(sig).sort();
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Projected keys with the last use the report gives for each (matched by creation time). */
function withReportUse(keys: readonly ProjectedKey[], row: ReportRow): ProjectedKey[] {
  return keys.map((k) => {
    const r = row.keys.find((x) => x.createdAt.slice(0, 19) === k.createdAt.slice(0, 19));
    const { lastUsedAt: _a, lastUsedService: _s, lastUsedRegion: _r, ...base } = k;
    return withoutUndefined({
      ...base,
      lastUsedAt: r?.lastUsedAt,
      lastUsedService: r?.lastUsedService,
      lastUsedRegion: r?.lastUsedRegion,
    });
  });
}

/**
 * What a write would change: the IAM state without the write's own time, and without when the keys were observed
 * (`keysObservedAt`): a new credential report that says what is projected already changes nothing (issue 20: with
 * the report's time compared, every user with a key was rewritten each time IAM generated a report). Each key's fields are listed in one order:
 * a key read back from DynamoDB holds them in the order DynamoDB returned its map, which is not the order they were
 * written in, so comparing the objects as they come made a key with a last use look changed at every refresh.
 */
const content = (u: Omit<ProjectedState, 'refreshedAt'>) =>
  JSON.stringify([
    u.userName,
    u.path,
    u.owner ?? null,
    u.groups,
    u.console,
    u.mfa ?? null,
    u.consoleSince ?? null,
    u.keys.map((k) => [
      k.id,
      k.status,
      k.createdAt,
      k.lastUsedAt ?? null,
      k.lastUsedService ?? null,
      k.lastUsedRegion ?? null,
    ]),
  ]);

export interface RefreshResult {
  /** Users under the managed paths in IAM. */
  users: number;
  /** Items written (new or changed) and removed (gone from IAM). */
  written: number;
  removed: number;
  /** Users whose keys or console access had to be read live (not from the credential report). */
  liveReads: number;
  /** IAM calls made. */
  iamCalls: number;
  /** Whether the credential report was used. */
  report: number;
  /** Users that cost an IAM call or a write (what options.maxUsers counts). */
  worked: number;
  /** Users left for a continuation: the refresh stopped (options.outOfTime, maxUsers) after this user's name. */
  next?: string;
}

/**
 * Refreshes the projection of one account from IAM: every user under the managed paths is written with its owner
 * (tag), groups, console access and keys; items of users gone from IAM (or moved off the managed paths) are removed.
 * Safe to run again and alongside the bot's own changes: an item written after this refresh started is neither
 * overwritten nor removed. Writes only what changed (and each user at least daily).
 */
export async function refreshAccount(deps: Deps, account: string, options: RefreshOptions = {}) {
  const { policy } = deps.config;
  const iam = counting(deps.aws.account(account).iam);
  const paths = managedUserPaths(policy);
  const started = deps.clock.now();
  const [listed, report, stored] = await Promise.all([
    managedUsers(iam, paths),
    credentialReport(iam, options.reportWaitMs ?? 60_000, options.sleep ?? realSleep).catch((error: unknown) => {
      logger.warn('Credential report unavailable; refreshing keys live', { account, errorName: errorName(error) });
      return undefined;
    }),
    deps.store.users.ofAccount(account),
  ]);
  const byName = new Map(stored.map((u) => [u.userName.toLowerCase(), u]));
  const result: RefreshResult = {
    users: listed.length,
    written: 0,
    removed: 0,
    liveReads: 0,
    iamCalls: 0,
    report: 0,
    worked: 0,
  };
  result.report = report ? 1 : 0;

  // Users gone from IAM first: that needs no IAM call, and a refresh cut short still removes them. A continuation
  // (`after`) leaves that to the first part.
  if (options.after === undefined) {
    const present = new Set(listed.map((u) => (u.UserName ?? '').toLowerCase()));
    const gone = stored.filter((u) => !present.has(u.userName.toLowerCase()) && u.refreshedAt <= started.toISOString());
    await inBatches(gone, options.concurrency ?? 16, async (u) => {
      if (await deps.store.users.remove(u, { ifRefreshedAt: u.refreshedAt })) result.removed++;
    });
  }

  // By name, so that a continuation goes on after the last user a part finished.
  const after = options.after;
  const users = listed
    .filter((u) => after === undefined || (u.UserName as string) > after)
    .sort((a, b) => ((a.UserName as string) < (b.UserName as string) ? -1 : 1));
  const maxUsers = options.maxUsers ?? Number.POSITIVE_INFINITY;
  let slowestMs = 0;
  let worked = 0;
  let running = 0; // users under way, which may yet cost a call or a write
  const limits = {
    stop: () => worked >= maxUsers || (options.outOfTime?.(slowestMs) ?? false),
    // the users under way may yet use the rest of the count: wait for them before taking another
    hold: () => worked + running >= maxUsers,
  };

  const taken = await inBatches(
    users,
    options.concurrency ?? 16,
    async (u) => {
      const userStarted = deps.clock.now().getTime();
      const own = counting(iam as unknown as IAMClient); // this user's calls (the lanes share `iam`)
      running++;
      const wrote = await refreshOne(u, own).finally(() => running--);
      if (wrote || own.calls > 0) worked++;
      slowestMs = Math.max(slowestMs, deps.clock.now().getTime() - userStarted);
    },
    limits,
  );
  if (taken < users.length && taken > 0) result.next = users[taken - 1]?.UserName as string;
  else if (taken === 0 && users.length > 0) result.next = after ?? '';
  result.iamCalls = iam.calls;
  result.worked = worked;
  return result;

  /** Refreshes one user; whether it wrote (tried to). */
  async function refreshOne(u: DetailUser, iam: CountingIam): Promise<boolean> {
    const userName = u.UserName as string;
    const item = byName.get(userName.toLowerCase());
    const row = report?.rows.get(userName);
    let access: Pick<ProjectedState, 'keys' | 'console' | 'mfa' | 'consoleSince' | 'keysObservedAt'> | undefined;
    // A report no newer than what is known still counts when it disagrees: its time has a resolution of seconds and
    // is not the projection's clock, so "older" is not certain; ListAccessKeys then settles which is current.
    if (row && report && (!item || report.generatedAt >= item.keysObservedAt || !sameKeys(item.keys, row.keys))) {
      // The report is newer than what is known (or disagrees with it): its keys, when they are the ones projected
      // (or there are none), need no IAM call; else ListAccessKeys for their ids.
      let keys =
        item && sameKeys(item.keys, row.keys)
          ? item.keys
          : row.keys.length === 0 && !item?.keys.length
            ? []
            : undefined;
      if (!keys) {
        const listed = await listKeys(iam, userName);
        if (sameKeys(listed, row.keys)) keys = listed;
        else if (item && sameKeyIds(listed, item.keys)) {
          // The projection holds the keys IAM holds now and the report is the stale one (IAM regenerates it at most
          // every four hours, and the bot's own changes since are projected at once): keep what is known, which
          // is no change, so no write, and no further call until IAM's next report (issue 20: each such user cost
          // a live read and a rewrite at every refresh).
          access = withoutUndefined({ ...knownAccess(item), mfa: item.mfa ?? (row.console ? row.mfa : undefined) });
        } else {
          // The keys changed since the report was generated: read them live.
          result.liveReads++;
          access = {
            ...(await readKeysAndConsole(iam, userName, listed)),
            keysObservedAt: deps.clock.now().toISOString(),
          };
        }
      }
      access ??= withoutUndefined({
        keys: withReportUse(keys ?? [], row),
        console: row.console,
        // MFA is a console user's (as a live read knows it): a user without a password holds none, so the two
        // sources never disagree on it and a newer report alone writes nothing
        mfa: row.console ? row.mfa : undefined,
        // The password's own creation time (a live read's) stays while the password does: the report's time is when
        // it was last changed, which a first sign-in's reset moves.
        consoleSince: row.console ? ((item?.console ? item.consoleSince : undefined) ?? row.consoleSince) : undefined,
        keysObservedAt: report.generatedAt,
      });
    } else if (item) {
      // What is known is newer than the report (the bot's own change), or there is no report: keep it.
      access = knownAccess(item);
    } else {
      // Not projected yet and not in the report (created after it, or no report): read live.
      result.liveReads++;
      access = { ...(await readKeysAndConsole(iam, userName)), keysObservedAt: deps.clock.now().toISOString() };
    }
    const owner = ownerFromTags(u.Tags);
    const next: ProjectedState = {
      account,
      userName,
      path: u.Path ?? '/',
      ...(owner ? { owner } : {}),
      groups: [...(u.GroupList ?? [])].sort(),
      ...access,
      refreshedAt: deps.clock.now().toISOString(),
    };
    const createdBy = u.Tags?.find((t) => t.Key === REQUEST_ID_TAG)?.Value;
    const knowsCreator = !createdBy || item?.requestIds.includes(createdBy);
    // Unchanged: no write, unless the item is a day old (which rewrites a stale owner copy, see UserStore.put).
    const recent = item && Date.parse(item.refreshedAt) > deps.clock.now().getTime() - REWRITE_AFTER_MS;
    if (item && recent && knowsCreator && content(item) === content(next)) return false;
    const written = await deps.store.users.put(next, {
      ifRefreshedAt: item ? item.refreshedAt : null,
      ...(item ? { previousOwner: item.owner ?? null } : {}),
      ...(createdBy ? { requestIds: [createdBy] } : {}),
    });
    if (written) result.written++;
    return true;
  }
}

/** The keys and console access a projected user holds, to keep as they are. */
const knownAccess = (item: ProjectedState) =>
  withoutUndefined({
    keys: item.keys,
    console: item.console,
    mfa: item.mfa,
    consoleSince: item.consoleSince,
    keysObservedAt: item.keysObservedAt,
  });

/** An unchanged user is written again after this long all the same (see UserStore.put). */
const REWRITE_AFTER_MS = 24 * 3_600_000;

/**
 * Runs `fn` over `items` in order, at most `size` at a time. `limits.stop`, asked before each item is taken: once it
 * says true no more is taken. `limits.hold`, asked before that: while it says true and items are under way, the lane
 * waits for one of them to end (a budget that those may use up). Returns how many were taken: every one of those,
 * `items[0..taken)`, has ended when it returns.
 */
async function inBatches<T>(
  items: readonly T[],
  size: number,
  fn: (item: T) => Promise<void>,
  limits: { stop?: () => boolean; hold?: () => boolean } = {},
): Promise<number> {
  let next = 0;
  let stopped = false;
  const running = new Set<Promise<void>>();
  const lanes = Array.from({ length: Math.min(size, items.length) }, async () => {
    while (next < items.length && !stopped) {
      while (running.size > 0 && limits.hold?.()) await Promise.race(running).catch(() => {});
      if (next >= items.length || stopped) break;
      if (limits.stop?.()) {
        stopped = true;
        break;
      }
      const p = fn(items[next++] as T);
      running.add(p);
      try {
        await p;
      } finally {
        running.delete(p);
      }
    }
  });
  await Promise.all(lanes);
  return next;
}

/**
 * The scheduled refresh of every account, in parallel; one account failing does not stop the others. Returns the
 * totals, for the logs.
 */
export async function refreshUserProjection(deps: Deps, options: RefreshOptions = {}): Promise<Record<string, number>> {
  const totals: Record<string, number> = {
    accounts: 0,
    failedAccounts: 0,
    users: 0,
    written: 0,
    removed: 0,
    liveReads: 0,
    iamCalls: 0,
  };
  await Promise.all(
    deps.aws.names.map(async (account) => {
      try {
        const r = await refreshAccount(deps, account, options);
        totals.accounts = (totals.accounts ?? 0) + 1;
        for (const k of ['users', 'written', 'removed', 'liveReads', 'iamCalls'] as const)
          totals[k] = (totals[k] ?? 0) + r[k];
      } catch (error) {
        totals.failedAccounts = (totals.failedAccounts ?? 0) + 1;
        logger.error('Refreshing the user projection failed', { account, errorName: errorName(error) });
      }
    }),
  );
  return totals;
}
