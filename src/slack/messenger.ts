import type { WebClient } from '@slack/web-api';
import type { MemberPage, MemberStanding, Messenger, OutgoingMessage } from '../services/ports.js';

/** A post to a response_url that Slack refused: its HTTP status and Slack's error (`used_url`, `expired_url`...). */
export class ResponseUrlError extends Error {
  override name = 'ResponseUrlError';
  /** The same shape as a Web API platform error's, so that callers read `data.error` either way. */
  readonly data: { ok: false; error: string };
  constructor(
    readonly status: number,
    error: string | undefined,
  ) {
    super(`response_url answered ${status}${error ? ` (${error})` : ''}`);
    this.data = { ok: false, error: error ?? `http_${status}` };
  }
}

/** Messenger over the Slack Web API. */
export class SlackMessenger implements Messenger {
  readonly #groupCache = new Map<string, { at: number; members: string[] }>();
  /**
   * Not a #private field: tests wrap the messenger in a Proxy (test/support/kill-points.ts), and a method called
   * through one cannot read a #private field.
   */
  private homeTeamAnswer: Promise<string> | undefined;
  /** `teamId`: the workspace the app is installed in (SLACK_TEAM_ID); without it, auth.test tells, once per process. */
  constructor(
    private readonly client: WebClient,
    options: { teamId?: string } = {},
  ) {
    if (options.teamId) this.homeTeamAnswer = Promise.resolve(options.teamId);
  }

  /** The app's own workspace: given, or auth.test's `team_id` (asked once; a failure is asked again next time). */
  homeTeam(): Promise<string> {
    if (this.homeTeamAnswer) return this.homeTeamAnswer;
    const answer = this.client.auth.test().then((res) => {
      if (!res.team_id) throw new Error('auth.test answered no team_id');
      return res.team_id;
    });
    this.homeTeamAnswer = answer;
    answer.catch(() => {
      if (this.homeTeamAnswer === answer) this.homeTeamAnswer = undefined;
    });
    return answer;
  }

  async post(channel: string, message: OutgoingMessage): Promise<{ channel: string; ts: string }> {
    const res = await this.client.chat.postMessage({
      channel,
      text: message.text,
      ...(message.blocks ? { blocks: message.blocks as never } : {}),
      unfurl_links: false,
      unfurl_media: false,
    });
    return { channel: res.channel ?? channel, ts: res.ts ?? '' };
  }

  async update(channel: string, ts: string, message: OutgoingMessage): Promise<void> {
    await this.client.chat.update({
      channel,
      ts,
      text: message.text,
      blocks: (message.blocks ?? []) as never,
    });
  }

  async respond(responseUrl: string, message: OutgoingMessage & { replaceOriginal?: boolean }): Promise<void> {
    const res = await fetch(responseUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        response_type: 'ephemeral',
        replace_original: message.replaceOriginal ?? false,
        text: message.text,
        ...(message.blocks ? { blocks: message.blocks } : {}),
      }),
    });
    // Slack answers a refused post with `ok: false` and an error (`used_url`, `expired_url`, `invalid_blocks`...),
    // sometimes with HTTP 200: the status alone does not say it was shown.
    const body = await res.text();
    let error: string | undefined;
    try {
      const parsed = JSON.parse(body) as { ok?: boolean; error?: string };
      if (parsed?.ok === false) error = parsed.error ?? 'unknown_error';
    } catch {
      // a plain-text answer ("ok", or an error word on a non-2xx status)
      if (!res.ok) error = body.trim().slice(0, 60) || undefined;
    }
    if (!res.ok || error) throw new ResponseUrlError(res.status, error);
  }

  async publishHome(user: string, blocks: unknown[]): Promise<void> {
    await this.client.views.publish({ user_id: user, view: { type: 'home', blocks: blocks as never } });
  }

  async uploadFile(channel: string, file: { fileName: string; title: string; content: string }): Promise<void> {
    await this.client.filesUploadV2({
      channel_id: channel,
      file: Buffer.from(file.content, 'utf8'),
      filename: file.fileName,
      title: file.title,
    });
  }

  /**
   * Forgets the cached user group members, as a new Lambda process starts (tests play the Slack function and the
   * worker in one process, so a lookup the worker made would otherwise spare the Slack function its own).
   */
  forgetUsergroups(): void {
    this.#groupCache.clear();
  }

  async usergroupMembers(usergroupId: string): Promise<string[]> {
    const cached = this.#groupCache.get(usergroupId);
    if (cached && Date.now() - cached.at < 60_000) return cached.members;
    const res = await this.client.usergroups.users.list({ usergroup: usergroupId });
    const members = res.users ?? [];
    this.#groupCache.set(usergroupId, { at: Date.now(), members });
    return members;
  }

  async listMembers(page: { cursor?: string; limit: number }): Promise<MemberPage> {
    // users.list is tier 2 (20+ a minute); a 429 is retried by the WebClient after Slack's Retry-After.
    const res = await this.client.users.list({ limit: page.limit, ...(page.cursor ? { cursor: page.cursor } : {}) });
    const next = res.response_metadata?.next_cursor;
    return {
      members: (res.members ?? []).flatMap((m) =>
        m.id
          ? [{ id: m.id, status: m.deleted ? ('deleted' as const) : m.is_bot ? ('bot' as const) : ('active' as const) }]
          : [],
      ),
      ...(next ? { next } : {}),
    };
  }

  async memberStatus(userId: string): Promise<'active' | 'deleted' | 'not-found' | 'bot'> {
    try {
      // users.info is tier 4 (100+ a minute); a 429 is retried by the WebClient after Slack's Retry-After.
      const res = await this.client.users.info({ user: userId });
      return res.user?.deleted ? 'deleted' : res.user?.is_bot ? 'bot' : 'active';
    } catch (error) {
      if ((error as { data?: { error?: string } })?.data?.error === 'user_not_found') return 'not-found';
      throw error;
    }
  }

  async memberStanding(userId: string): Promise<MemberStanding> {
    let user: NonNullable<Awaited<ReturnType<WebClient['users']['info']>>['user']>;
    try {
      const res = await this.client.users.info({ user: userId });
      if (!res.user) throw new Error('users.info answered no user');
      user = res.user;
    } catch (error) {
      if ((error as { data?: { error?: string } })?.data?.error === 'user_not_found') return 'not-found';
      throw error;
    }
    if (user.deleted) return 'deactivated';
    // Slackbot (USLACKBOT) is no bot user by its flags, and no person either
    if (user.is_bot || userId === 'USLACKBOT') return 'bot';
    const home = await this.homeTeam();
    // Enterprise Grid: team_id may be another workspace of the organisation; enterprise_user.teams lists the
    // member's workspaces. A member of another organisation (Slack Connect) has neither.
    const ours = user.team_id === home || (user.enterprise_user?.teams ?? []).includes(home);
    if (user.is_stranger || !ours) return 'external';
    if (user.is_ultra_restricted) return 'single-channel-guest';
    if (user.is_restricted) return 'multi-channel-guest';
    return 'member';
  }
}
