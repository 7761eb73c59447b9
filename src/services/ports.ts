/** A Slack message as the services hand it over: fallback text and optional Block Kit blocks. */
export interface OutgoingMessage {
  text: string;
  blocks?: unknown[];
}

/**
 * What the services need from Slack, and nothing more. Implemented over the Web API in src/slack; services never
 * import @slack/* themselves.
 */
export interface Messenger {
  /** Posts to a channel, or to a user's DM with the bot when `channel` is a user id. Link unfurling is always off. */
  post(channel: string, message: OutgoingMessage): Promise<{ channel: string; ts: string }>;
  update(channel: string, ts: string, message: OutgoingMessage): Promise<void>;
  /** Answers through a slash command's or an action's response_url (ephemeral unless `inChannel`). */
  respond(responseUrl: string, message: OutgoingMessage & { replaceOriginal?: boolean }): Promise<void>;
  /** Publishes a user's App Home tab. */
  publishHome(user: string, blocks: unknown[]): Promise<void>;
  /**
   * Uploads a text file and shares it in `channel` (a DM's channel id, as `post` returns it): Slack's
   * files.getUploadURLExternal, the upload, files.completeUploadExternal.
   */
  uploadFile(channel: string, file: { fileName: string; title: string; content: string }): Promise<void>;
  /** Members of a Slack user group. */
  usergroupMembers(usergroupId: string): Promise<string[]>;
  /**
   * Whether a workspace member is deactivated (users.info `deleted`), a bot (`is_bot`: no person to act), or active;
   * `not-found` when Slack answers user_not_found. Any other failure throws (transient: the caller acts on nothing).
   */
  memberStatus(userId: string): Promise<'active' | 'deleted' | 'not-found' | 'bot'>;
  /**
   * What a member is to this workspace, from one users.info call (see MemberStanding); `not-found` when Slack answers
   * user_not_found. Any other failure throws.
   */
  memberStanding(userId: string): Promise<MemberStanding>;
  /**
   * One page of the workspace's members (users.list, which includes deactivated members but not members of other
   * organisations): each with its status as memberStatus gives it, and the cursor of the next page (none at the end).
   * Any failure throws.
   */
  listMembers(page: { cursor?: string; limit: number }): Promise<MemberPage>;
}

/**
 * member: a full member of the app's own workspace (an admin or owner included); single-channel-guest
 * (`is_ultra_restricted`), multi-channel-guest (`is_restricted`); external: a member of another organisation met in a
 * shared channel (another `team_id` that is not one of the member's Enterprise Grid workspaces, or `is_stranger`);
 * bot: `is_bot`, or Slackbot; deactivated: `deleted`; not-found: Slack does not know the id.
 */
export type MemberStanding =
  | 'member'
  | 'single-channel-guest'
  | 'multi-channel-guest'
  | 'external'
  | 'bot'
  | 'deactivated'
  | 'not-found';

/** A page of users.list. */
export interface MemberPage {
  members: { id: string; status: 'active' | 'deleted' | 'bot' }[];
  next?: string;
}
