/**
 * Which approvers the policy lists can no longer approve: each listed approver (user group members included) whose
 * users.info says they are not a full member of this workspace. For `/iam whoami`, so that approvers see the policy
 * that needs mending before a request waits on someone who cannot click.
 */
import type { Principals } from '../config.js';
import type { Deps } from '../deps.js';
import { logger } from '../logger.js';
import type { MemberStanding } from './ports.js';
import { standingOf } from './slack-members.js';

/** The most users.info calls one check makes (tier 4); the approvers past it are reported as not checked. */
export const MAX_APPROVER_LOOKUPS = 300;

export interface ApproverStandings {
  /** Listed approvers who cannot approve, with their standing and where the policy lists them. */
  cannot: { user: string; standing: Exclude<MemberStanding, 'member'>; listedAs: string[] }[];
  /** How many listed approvers were found to be full members. */
  fullMembers: number;
  /** Approvers Slack could not answer about, or past MAX_APPROVER_LOOKUPS: not known either way. */
  unchecked: string[];
}

/**
 * Every approver the policy lists (global, per kind, per group; listed by id or through a Slack user group), each
 * checked with users.info (cached per process, see standingOf). Reads nothing else and changes nothing; a Slack
 * failure about one approver leaves them in `unchecked`.
 */
export async function approverStandings(
  deps: Pick<Deps, 'config' | 'messenger' | 'clock'>,
): Promise<ApproverStandings> {
  const { policy } = deps.config;
  const listed = new Map<string, string[]>();
  const list = async (principals: Principals | undefined, as: string) => {
    for (const u of principals?.users ?? []) listed.set(u, [...(listed.get(u) ?? []), as]);
    for (const g of principals?.usergroups ?? []) {
      let members: string[];
      try {
        members = await deps.messenger.usergroupMembers(g);
      } catch (error) {
        logger.warn('usergroups.users.list failed; its members are not checked', {
          usergroup: g,
          errorName: (error as Error)?.name,
        });
        continue;
      }
      for (const u of members) listed.set(u, [...(listed.get(u) ?? []), `${as} (through <!subteam^${g}>)`]);
    }
  };
  await list(policy.approvals.approvers, 'approver');
  for (const [kind, rule] of Object.entries(policy.approvals.kinds)) await list(rule?.approvers, `approver of ${kind}`);
  for (const g of policy.groups) await list(g.approvers, `approver of \`${g.name}\``);

  const result: ApproverStandings = { cannot: [], fullMembers: 0, unchecked: [] };
  let lookups = 0;
  for (const [user, listedAs] of listed) {
    if (lookups++ >= MAX_APPROVER_LOOKUPS) {
      result.unchecked.push(user);
      continue;
    }
    let standing: MemberStanding;
    try {
      standing = await standingOf(deps, user);
    } catch (error) {
      logger.warn('users.info failed; the approver is reported as not checked', {
        member: user,
        errorName: (error as Error)?.name,
      });
      result.unchecked.push(user);
      continue;
    }
    if (standing === 'member') result.fullMembers++;
    else result.cannot.push({ user, standing, listedAs: [...new Set(listedAs)] });
  }
  return result;
}
