import type { WebClient } from '@slack/web-api';
import type { Messenger, OutgoingMessage } from '../services/ports.js';

/** Messenger over the Slack Web API. */
export class SlackMessenger implements Messenger {
  readonly #groupCache = new Map<string, { at: number; members: string[] }>();
  constructor(private readonly client: WebClient) {}

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
    if (!res.ok) throw new Error(`response_url answered ${res.status}`);
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

  async memberStatus(userId: string): Promise<'active' | 'deleted' | 'not-found'> {
    try {
      // users.info is tier 4 (100+ a minute); a 429 is retried by the WebClient after Slack's Retry-After.
      const res = await this.client.users.info({ user: userId });
      return res.user?.deleted ? 'deleted' : 'active';
    } catch (error) {
      if ((error as { data?: { error?: string } })?.data?.error === 'user_not_found') return 'not-found';
      throw error;
    }
  }
}
