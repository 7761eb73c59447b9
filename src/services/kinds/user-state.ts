import { ListGroupsForUserCommand, ListUserTagsCommand } from '@aws-sdk/client-iam';
import { OWNER_TAG } from '../plans/types.js';
import type { IamSender } from '../provisioning.js';

/** What IAM says of a user: enough to tell which steps of a change are already true. */
export interface UserState {
  groups: string[];
  tags: Record<string, string>;
}

/** An IAM user's groups and tags (ListGroupsForUser, ListUserTags: users have at most 10 groups and 50 tags). */
export async function readUserState(iam: IamSender, userName: string): Promise<UserState> {
  const [groups, tags] = await Promise.all([
    iam.send(new ListGroupsForUserCommand({ UserName: userName })),
    iam.send(new ListUserTagsCommand({ UserName: userName })),
  ]);
  return {
    groups: (groups.Groups ?? []).map((g: { GroupName?: string }) => g.GroupName ?? ''),
    tags: Object.fromEntries((tags.Tags ?? []).map((t: { Key?: string; Value?: string }) => [t.Key, t.Value])),
  };
}

/** The Slack user owning an IAM user: its `slack-user-id` tag, when it looks like a Slack user id. */
export const ownerIn = (state: UserState): string | undefined => {
  const id = state.tags[OWNER_TAG];
  return id && /^[UW][A-Z0-9]{2,}$/.test(id) ? id : undefined;
};
