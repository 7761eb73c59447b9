/**
 * The daily check of every owner: a walk of users.list (which includes deactivated members) in worker parts, then
 * users.info for the owners the walk did not list (members of other organisations, ids Slack does not know).
 *
 * Why users.list and not users.info per owner: users.list is tier 2 (20+ calls a minute) but answers up to 200
 * members a call, so a workspace of W members costs ceil(W / 200) calls a day whatever the number of owners (10 for
 * 2,000 members, about 30 s of tier-2 budget); users.info is tier 4 (100+ a minute) but answers one member, so 2,000
 * owners cost 2,000 calls and 20 minutes of its budget, every day, shared with every other users.info of the bot.
 * `npm run bench -- users.list` measures both.
 */
import type { Deps } from '../deps.js';
import { invocationStartedAt } from '../invocation.js';
import type { Job } from '../jobs/types.js';
import { logger } from '../logger.js';
import { deletionsDue, leaverDeletionsJob } from './kinds/leaver-deletions.js';
import { isStuck, leaverJob, leaverRequestId, ownerUnknown } from './kinds/offboard.js';
import { type MemberState, memberStates } from './slack-members.js';

/** Where a day's owner check is: the users.list cursor to go on from, and where the owners not listed so far are. */
export interface OwnerCheckPayload {
  day: string;
  /** Which part this is (1 the first): the continuation's job id. */
  part: number;
  /** The users.list cursor to go on from; undefined on the first part; `done` once the walk ended. */
  cursor?: string;
  /**
   * How many DynamoDB items hold the owners no page listed so far (unseenKey: OWNER_CHECK_UNSEEN_PER_ITEM owners an
   * item), written by the part before; undefined on the first part (every owner in the projection). Kept out of the
   * payload, which Lambda bounds at 256 KB (some 18,000 owners).
   */
  unseenItems?: number;
  /** Owners no page listed so far, in the payload: only from a continuation handed over before unseenItems. */
  unseen?: string[];
}

/** The key of the `index`-th item holding the owners that part `part` of `day`'s check starts with unseen. */
export const unseenKey = (day: string, part: number, index: number) => `owner-check-unseen:${day}:${part}:${index}`;

/** The owners part `payload.part` starts with unseen: from its items, its payload, or (first part) the projection. */
async function unseenAtStart(deps: Deps, payload: OwnerCheckPayload): Promise<string[]> {
  if (payload.unseenItems === undefined) return payload.unseen ?? (await ownersOf(deps));
  const owners: string[] = [];
  for (let i = 0; i < payload.unseenItems; i++) {
    const ids = await deps.store.jobs.getIds(unseenKey(payload.day, payload.part, i));
    if (!ids)
      throw new Error(`Owner check ${payload.day} part ${payload.part}: its unseen owners (item ${i}) are gone`);
    owners.push(...ids);
  }
  return owners;
}

/** Writes the owners the next part starts with unseen, OWNER_CHECK_UNSEEN_PER_ITEM an item; returns how many items. */
async function keepUnseen(deps: Deps, day: string, part: number, unseen: string[]): Promise<number> {
  const per = deps.config.env.OWNER_CHECK_UNSEEN_PER_ITEM;
  const items = Math.ceil(unseen.length / per);
  for (let i = 0; i < items; i++)
    await deps.store.jobs.putIds(unseenKey(day, part, i), unseen.slice(i * per, (i + 1) * per), deps.clock.now());
  return items;
}

/** The worker job running one part of a day's owner check. Its id names the day and part: a repeat is skipped. */
export function ownerCheckJob(payload: OwnerCheckPayload): Job {
  return { id: `owner-check:${payload.day}:${payload.part}`, type: 'owner-check', payload: { ...payload } };
}

/** What one part did. */
export interface OwnerCheckPart {
  pages: number;
  lookups: number;
  /** Owners found deactivated, handed to the leaver job. */
  leavers: number;
  /** Owners Slack does not know (user_not_found), handed to the owner-unknown notice. */
  unknown: number;
  /** Owners still unseen at the end of this part. */
  unseen: number;
  /** The continuation's payload, when the check goes on in another part. */
  next?: OwnerCheckPayload;
}

const DONE = 'done';

/**
 * Runs one part of a day's owner check. Guarantees: every owner in the projection at the first part is answered
 * for by the day's parts (listed by users.list, else asked with users.info); only an owner Slack says is
 * deactivated (`deleted: true`) is handed to the leaver job, and only when no offboarding of theirs exists; an id
 * Slack does not know is handed to the owner-unknown notice; an owner users.info could not answer about is left to
 * the next day. Each part makes at most OWNER_CHECK_PAGES_PER_PART users.list calls and OWNER_CHECK_LOOKUPS_PER_PART
 * users.info calls, and starts none that the slowest one so far says would end past its budget (`outOfTime`, given
 * that reserve), then returns its continuation in `next`, whose unseen owners it has written to DynamoDB items
 * (OWNER_CHECK_UNSEEN_PER_ITEM each, read back consistently): the payload stays a few bytes at any number of owners.
 */
export async function checkOwnersPart(
  deps: Deps,
  payload: OwnerCheckPayload,
  options: { outOfTime?: (reserveMs: number) => boolean } = {},
): Promise<OwnerCheckPart> {
  const env = deps.config.env;
  const outOfTime = options.outOfTime ?? (() => false);
  // The slowest users.list page and users.info lookup so far: a part starts no call it could not finish in time.
  let slowestPageMs = 0;
  let slowestLookupMs = 0;
  const timed = async <T>(call: () => Promise<T>, took: (ms: number) => void): Promise<T> => {
    const at = deps.clock.now().getTime();
    try {
      return await call();
    } finally {
      took(deps.clock.now().getTime() - at);
    }
  };
  const unseen = new Set(await unseenAtStart(deps, payload));
  const result: OwnerCheckPart = { pages: 0, lookups: 0, leavers: 0, unknown: 0, unseen: 0 };
  const gone: string[] = [];
  let cursor = payload.cursor;
  while (cursor !== DONE && result.pages < env.OWNER_CHECK_PAGES_PER_PART && !outOfTime(slowestPageMs)) {
    const page = await timed(
      () => deps.messenger.listMembers({ limit: env.OWNER_CHECK_PAGE_SIZE, ...(cursor ? { cursor } : {}) }),
      (ms) => {
        slowestPageMs = Math.max(slowestPageMs, ms);
      },
    );
    result.pages++;
    for (const m of page.members) {
      // each member is listed once in a walk: one still unseen is an owner not yet answered for
      if (!unseen.delete(m.id)) continue;
      if (m.status === 'deleted') gone.push(m.id);
    }
    cursor = page.next ?? DONE;
  }
  if (cursor === DONE) {
    // the walk is over: the owners it did not list are asked one by one (another organisation's member, a typo)
    // one at a time, each only if the slowest so far could still finish in time (the rest go to the next part)
    const ask = [...unseen].slice(0, env.OWNER_CHECK_LOOKUPS_PER_PART);
    const states = new Map<string, MemberState>();
    const asked: string[] = [];
    for (const id of ask) {
      if (outOfTime(Math.max(slowestLookupMs, asked.length === 0 ? slowestPageMs : 0))) break;
      const answer = await timed(
        () => memberStates(deps, [id], { fresh: true }),
        (ms) => {
          slowestLookupMs = Math.max(slowestLookupMs, ms);
        },
      );
      asked.push(id);
      const state = answer.get(id);
      if (state) states.set(id, state);
    }
    result.lookups = asked.length;
    for (const id of asked) {
      unseen.delete(id); // asked: answered, or (Slack failed to answer) left to the next day
      const state = states.get(id);
      if (state === 'deactivated') gone.push(id);
      else if (state === 'unknown') {
        result.unknown++;
        await deps.dispatcher.dispatch(ownerUnknown(id));
      }
    }
  }
  for (const owner of gone) {
    if (await deps.store.requests.get(leaverRequestId(owner))) continue; // handled already (or resumed by the task)
    result.leavers++;
    await deps.dispatcher.dispatch(leaverJob(owner, 'scan', `scan-${payload.day}`));
  }
  result.unseen = unseen.size;
  if (cursor !== DONE || unseen.size > 0)
    result.next = {
      day: payload.day,
      part: payload.part + 1,
      ...(cursor !== undefined ? { cursor } : {}),
      unseenItems: await keepUnseen(deps, payload.day, payload.part + 1, [...unseen]),
    };
  return result;
}

/** Every distinct owner in the projection (every account). */
export async function ownersOf(deps: Deps): Promise<string[]> {
  const owners = new Set<string>();
  for (const account of deps.aws.names)
    for (const u of await deps.store.users.ofAccount(account)) if (u.owner) owners.add(u.owner);
  return [...owners];
}

/** The worker's handler of `owner-check` jobs: runs a part, hands the rest to its continuation, logs what it did. */
export async function runOwnerCheckPart(deps: Deps, payload: OwnerCheckPayload): Promise<OwnerCheckPart> {
  // The part's budget (OWNER_CHECK_PART_MS, from its invocation's start): no page or lookup is started whose slowest
  // like so far would end past it (issue 20: a slow page started at 39 s ended a part at 47 s).
  const budget = deps.config.env.OWNER_CHECK_PART_MS;
  const started = invocationStartedAt(deps.clock.now().getTime());
  const result = await checkOwnersPart(deps, payload, {
    outOfTime: (reserveMs) => deps.clock.now().getTime() - started + reserveMs > budget,
  });
  const { next, ...counts } = result;
  logger.info('Owner check part', { ...counts, part: payload.part, more: next !== undefined });
  if (next) await deps.dispatcher.dispatch(ownerCheckJob(next));
  return result;
}

/**
 * Scheduled (daily): an offboarding of an owner that stopped midway is resumed, and the day's check of every owner
 * starts in the worker (see checkOwnersPart: users.list walked in parts, then users.info for the owners it did not
 * list); each deactivated owner is handed to the leaver job (same request id as the event's, so once). An
 * offboarding whose `leavers.deleteAfterDays` day came (read consistently) goes to the leaver-deletions job.
 */
export async function reconcileOwners(deps: Deps): Promise<Record<string, number>> {
  const owners = await ownersOf(deps);
  const now = deps.clock.now();
  // Every owner's offboarding, if any, in BatchGetItem calls of 100 (consistent: a stuck one is resumed), not one
  // GetItem per owner (about 84 s on moto at 2,000 owners).
  const ownerOf = new Map(owners.map((owner) => [leaverRequestId(owner), owner]));
  const offboardings = await deps.store.requests.getManyConsistent([...ownerOf.keys()]);
  const stuck = offboardings.filter((r) => isStuck(r, now)).flatMap((r) => ownerOf.get(r.id) ?? []);
  const day = now.toISOString().slice(0, 10);
  // An offboarding that stopped midway (no part holds it): the leaver job resumes it from its checkpoint.
  for (const owner of stuck) await deps.dispatcher.dispatch(leaverJob(owner, 'scan', `scan-${day}`));
  // `leavers.deleteAfterDays`: an offboarding whose deletion day came has its users decided (and deleted) once
  const due = offboardings.filter((r) => deletionsDue(r, now));
  for (const r of due) await deps.dispatcher.dispatch(leaverDeletionsJob(r.id, day));
  await deps.dispatcher.dispatch(ownerCheckJob({ day, part: 1 }));
  return { owners: owners.length, resumed: stuck.length, deletionsDue: due.length, checkStarted: 1 };
}
