import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One Web API call (or response_url post) the bot made. */
export interface RecordedCall {
  method: string;
  args: Record<string, unknown>;
  token?: string;
  at: number;
  /** What the stand-in answered (the ts of a posted message, the id of an opened view...). */
  answer?: Record<string, unknown>;
}

/** Serves a request the Web API stand-in does not know (the browser stand-in's page and API); false: not mine. */
export type ExtraRoute = (req: IncomingMessage, res: ServerResponse, body: string) => Promise<boolean> | boolean;

type Answer = (args: Record<string, unknown>) => Record<string, unknown>;

function parseBody(raw: string, contentType: string | undefined): Record<string, unknown> {
  if (!raw) return {};
  if (contentType?.includes('application/json')) return JSON.parse(raw) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    out[k] = /^[[{]/.test(v) ? safeJson(v) : v;
  }
  return out;
}

function safeJson(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

/** A file upload's content: the body itself, or the file part of a multipart body (how WebClient sends it). */
async function uploadedContent(raw: string, contentType: string | undefined): Promise<string> {
  if (!contentType?.startsWith('multipart/form-data')) return raw;
  const form = await new Request('http://upload.invalid/', {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: Buffer.from(raw, 'utf8'),
  }).formData();
  for (const [, value] of form) if (typeof value !== 'string') return value.text();
  return String([...form.values()][0] ?? '');
}

/**
 * A member of the workspace as users.info knows them. Only registered ids exist: any other id answers
 * `user_not_found`, as Slack does for an id that is not a user of this workspace (a typo, another workspace's id).
 */
export interface SlackMember {
  id: string;
  name?: string;
  /** Deactivated: users.info answers `ok: true` with `deleted: true`. */
  deleted?: boolean;
  /** A bot user (`is_bot: true`), e.g. another app's bot. */
  isBot?: boolean;
  /** A single-channel (`is_ultra_restricted`) or multi-channel (`is_restricted`) guest. */
  guest?: 'single' | 'multi';
  /** A member of another organisation met through Slack Connect: another `team_id`, `is_stranger: true`. */
  otherOrg?: boolean;
  /** The profile users.info and `user_change` carry (title, phone, e-mail, status...). */
  profile?: Record<string, unknown>;
}

export const FAKE_TEAM_ID = 'T0TEAM';

/**
 * Who sent a request Slack delivers to the bot (a slash command's `user_id`, an interaction's `user.id`, an event's
 * `user`): Slack sends those only from members, so a local run registers them with the stand-in (see strictDms).
 */
export function sendersOf(body: string): string[] {
  const ids: unknown[] = [];
  const params = new URLSearchParams(body);
  ids.push(params.get('user_id'));
  const json = params.get('payload') ?? (body.trimStart().startsWith('{') ? body : undefined);
  if (json) {
    try {
      const parsed = JSON.parse(json) as { user?: { id?: unknown }; event?: { user?: unknown } };
      ids.push(parsed.user?.id, typeof parsed.event?.user === 'string' ? parsed.event.user : undefined);
    } catch {
      // not JSON: nobody to register
    }
  }
  return ids.filter((id): id is string => typeof id === 'string' && /^[UW][A-Z0-9]{2,}$/.test(id));
}

/** The members users.info knows, and failures to answer on demand. */
export class SlackMembers {
  readonly #members = new Map<string, SlackMember>();
  readonly #failures = new Map<string, string>();
  /**
   * Refuse a DM (chat.postMessage to a user id) to an id not registered, as Slack does (`channel_not_found`). Test
   * bots and `npm run dev` offline turn it on, registering whoever sends a request (such DMs are counted in
   * `unknownDms` either way). A DM to a registered
   * member who is deactivated (`channel_not_found`) or a bot (`cannot_dm_bot`) is always refused.
   */
  strictDms = false;
  /** DMs to ids not registered, by id (see strictDms). */
  readonly unknownDms = new Map<string, number>();

  /** Registers members (or updates them: a field given replaces the one known). An id alone is an active member. */
  add(...members: (SlackMember | string)[]): this {
    for (const m of members) {
      const member = typeof m === 'string' ? { id: m } : m;
      this.#members.set(member.id, { ...this.#members.get(member.id), ...member });
    }
    return this;
  }

  /** Deactivates a member (registering them if unknown): users.info says `deleted: true` from now on. */
  deactivate(id: string): this {
    return this.add({ id, deleted: true });
  }

  /** A deactivated member active again. */
  reactivate(id: string): this {
    return this.add({ id, deleted: false });
  }

  /** Forgets a member: users.info answers `user_not_found` from now on. */
  remove(id: string): this {
    this.#members.delete(id);
    return this;
  }

  /** users.info about this member answers `ok: false` with `error` (e.g. `fatal_error`) until `recover`. */
  failWith(id: string, error = 'fatal_error'): this {
    this.#failures.set(id, error);
    return this;
  }

  recover(id: string): this {
    this.#failures.delete(id);
    return this;
  }

  /** Why Slack refuses a DM to `id` (chat.postMessage with the user id as channel), or undefined if it takes it. */
  dmRefusal(id: string): string | undefined {
    const m = this.#members.get(id);
    if (!m) {
      this.unknownDms.set(id, (this.unknownDms.get(id) ?? 0) + 1);
      return this.strictDms ? 'channel_not_found' : undefined;
    }
    if (m.isBot) return 'cannot_dm_bot';
    if (m.deleted) return 'channel_not_found';
    return undefined;
  }

  /**
   * Why views.publish refuses `id`'s App Home: a deactivated member (`user_disabled`) or a bot, which has no App Home
   * (`user_not_found`). Slack's method page does not document the codes for these cases: these are assumed. An id
   * not registered is taken for now (as with strictDms).
   */
  homeRefusal(id: string): string | undefined {
    const m = this.#members.get(id);
    if (m?.deleted) return 'user_disabled';
    if (m?.isBot) return 'user_not_found';
    return undefined;
  }

  get(id: string): SlackMember | undefined {
    return this.#members.get(id);
  }

  has(id: string): boolean {
    return this.#members.has(id);
  }

  get size(): number {
    return this.#members.size;
  }

  /**
   * What users.list answers: the members in the order they were registered, deactivated ones included, members of
   * other organisations left out (Slack lists only the workspace's own), `limit` a page (at most 1,000; 0 or none
   * means 1,000) and an opaque cursor (`user:<id>` in base64, as Slack's look) in `response_metadata.next_cursor`,
   * empty on the last page. A cursor it did not give answers `invalid_cursor`.
   */
  list(cursor: string | undefined, limit: number): Record<string, unknown> {
    const all = [...this.#members.values()].filter((m) => !m.otherOrg);
    let start = 0;
    if (cursor) {
      const id = Buffer.from(cursor, 'base64')
        .toString('utf8')
        .replace(/^user:/, '');
      start = all.findIndex((m) => m.id === id);
      if (start < 0) return { ok: false, error: 'invalid_cursor' };
    }
    const size = limit > 0 ? Math.min(limit, 1000) : 1000;
    const page = all.slice(start, start + size);
    const next = all[start + size];
    return {
      ok: true,
      members: page.map((m) => this.#user(m)),
      cache_ts: 0,
      response_metadata: { next_cursor: next ? Buffer.from(`user:${next.id}`).toString('base64') : '' },
    };
  }

  /** What users.info answers about `id`. */
  info(id: string): Record<string, unknown> {
    const failure = this.#failures.get(id);
    if (failure) return { ok: false, error: failure };
    const m = this.#members.get(id);
    if (!m) return { ok: false, error: 'user_not_found' };
    return { ok: true, user: this.#user(m) };
  }

  /** A member as users.info and users.list describe them. */
  #user(m: SlackMember): Record<string, unknown> {
    const id = m.id;
    const name = m.name ?? id.toLowerCase();
    return {
      id,
      team_id: m.otherOrg ? 'T0OTHERORG' : FAKE_TEAM_ID,
      name,
      real_name: name,
      deleted: m.deleted === true,
      is_bot: m.isBot === true,
      is_app_user: false,
      is_restricted: m.guest !== undefined,
      is_ultra_restricted: m.guest === 'single',
      ...(m.otherOrg ? { is_stranger: true } : {}),
      profile: {
        real_name: name,
        display_name: name,
        ...(m.isBot ? { bot_id: `B${id.slice(1)}` } : {}),
        ...m.profile,
      },
    };
  }
}

/** Slack's Web API rate-limit tiers: requests per minute each allows (api.slack.com/docs/rate-limits). */
export const TIER_PER_MINUTE = { 1: 1, 2: 20, 3: 50, 4: 100 } as const;

/** The tier of each Web API method the bot (or its tests) calls, from each method's page on api.slack.com. */
export const METHOD_TIERS: Record<string, keyof typeof TIER_PER_MINUTE> = {
  'auth.test': 4, // special, at least tier 4
  'chat.update': 3,
  'chat.delete': 3,
  'chat.postEphemeral': 4,
  'conversations.open': 3,
  'conversations.info': 3,
  'files.getUploadURLExternal': 4,
  'files.completeUploadExternal': 4,
  'usergroups.list': 2,
  'usergroups.users.list': 2,
  'users.info': 4,
  'users.list': 2,
  'users.lookupByEmail': 3,
  'views.open': 4,
  'views.push': 4,
  'views.update': 4,
  'views.publish': 4,
};

/** A token bucket: `burst` calls at once, then one every `everyMs`. */
class Bucket {
  #tokens: number;
  #at: number;
  constructor(
    readonly burst: number,
    readonly everyMs: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#at = now;
  }

  /** Takes a call; undefined when allowed, else the seconds to wait (Retry-After, at least 1). */
  take(now: number): number | undefined {
    this.#tokens = Math.min(this.burst, this.#tokens + Math.max(0, now - this.#at) / this.everyMs);
    this.#at = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil(((1 - this.#tokens) * this.everyMs) / 1000));
  }
}

/**
 * Slack's rate limits, per method (its tier: `perMinute` calls a minute, with a burst of one minute's worth, as
 * Slack's "20+ per minute, occasional bursts" allows) and for chat.postMessage per channel (one a second after a
 * burst of `postBurst`). A call over a limit is answered HTTP 429 with Retry-After. Time is the stand-in's
 * `rateClock` (the real clock by default: the Web API client waits out Retry-After in real time).
 */
export class RateLimits {
  enabled = true;
  /** Calls a minute per method; a method not listed is not limited. Tests may lower (or raise) one. */
  readonly perMinute = new Map<string, number>(
    Object.entries(METHOD_TIERS).map(([m, tier]) => [m, TIER_PER_MINUTE[tier]]),
  );
  /** chat.postMessage: posts at once to one channel before the one-a-second pace applies. */
  postBurst = 10;
  /** chat.postMessage: the pace per channel after the burst. */
  postEveryMs = 1000;
  /** Calls answered 429 so far, by method (or `chat.postMessage <channel>`). */
  readonly limited = new Map<string, number>();
  readonly #buckets = new Map<string, Bucket>();

  /** Seconds to wait when this call is over a limit; undefined when it may go. */
  check(method: string, args: Record<string, unknown>, now: number): number | undefined {
    if (!this.enabled) return undefined;
    let key: string;
    let bucket: Bucket | undefined;
    if (method === 'chat.postMessage') {
      const channel = String(args.channel ?? '');
      key = `chat.postMessage ${channel.startsWith('U') ? `D${channel.slice(1)}` : channel}`;
      bucket = this.#buckets.get(key) ?? new Bucket(this.postBurst, this.postEveryMs, now);
    } else {
      const perMinute = this.perMinute.get(method);
      if (perMinute === undefined) return undefined;
      key = method;
      bucket = this.#buckets.get(key) ?? new Bucket(perMinute, 60_000 / perMinute, now);
    }
    this.#buckets.set(key, bucket);
    const wait = bucket.take(now);
    if (wait !== undefined) this.limited.set(key, (this.limited.get(key) ?? 0) + 1);
    return wait;
  }

  /** Forgets the calls counted so far (after a test changed a limit, say). */
  reset(): void {
    this.#buckets.clear();
  }
}

/** How many posts a response_url takes, and for how long (api.slack.com/interactivity/handling). */
export const RESPONSE_URL_POSTS = 5;
export const RESPONSE_URL_LIFE_MS = 30 * 60_000;
/** Slack refuses a view whose JSON is larger than this. */
export const VIEW_MAX_BYTES = 250 * 1024;

/** A message a response_url shows its user. */
export interface ResponseMessage {
  text: string;
  blocks: unknown[];
  /** Replaced since (replace_original on an interactive message). */
  edited?: boolean;
}

interface ResponseUrlState {
  kind: 'command' | 'interaction';
  createdAt: number;
  posts: number;
  /** What its user sees: for a command, the ack's message then each post; for a click, the clicked message first. */
  shown: ResponseMessage[];
  /** Index in `shown` of the message replace_original replaces (an interaction's message). */
  original?: number;
}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

export interface FakeSlackOptions {
  /**
   * The clock of response_urls' 30 minutes (tests pass their ManualClock's, so that a job run days later meets an
   * expired response_url as it would in Slack). Default: the real clock.
   */
  now?: () => number;
  /** The clock of rate limits (default: the real clock, which the Web API client waits on after a 429). */
  rateNow?: () => number;
}

/**
 * A stand-in for the Slack Web API on 127.0.0.1 that records every call and answers like Slack does, as strictly:
 * users.info knows only the members registered in `members` (anyone else is `user_not_found`), each method is held
 * to its rate-limit tier (`limits`: HTTP 429 with Retry-After; chat.postMessage per channel), a response_url takes
 * five posts within thirty minutes (then HTTP 404 `used_url` / `expired_url`) and `replace_original` replaces only
 * an interactive message (a slash command's response_url adds a message: bolt-js#2287), views over 250 KB are
 * refused, and any method fails on demand (`failNext`, `answers`). Tests use it to observe what the bot says;
 * `npm run dev` uses it when no Slack credentials are set, printing each call. `POST /response/<id>` plays a
 * response_url that `responseUrl(id, kind)` issued.
 */
export class FakeSlack {
  readonly calls: RecordedCall[] = [];
  readonly answers = new Map<string, Answer>();
  #server: Server | undefined;
  #ts = 1_700_000_000;
  port = 0;
  onCall: ((call: RecordedCall) => void) | undefined;
  /** More watchers of every call, after onCall (the dev log, the browser stand-in). */
  readonly observers: ((call: RecordedCall) => void)[] = [];
  /** Tried for any path other than /api/ and /response/. */
  extraRoute: ExtraRoute | undefined;

  /** The workspace's members as users.info knows them: an id not registered is `user_not_found`. */
  readonly members = new SlackMembers().add({ id: 'U0BOTUSER', name: 'iam-bot', isBot: true });

  /** Slack's rate limits, applied to every Web API call (`limits.enabled = false` turns them off). */
  readonly limits = new RateLimits();

  /** The response_urls issued (responseUrl), by id: what each has shown and how many posts it took. */
  readonly #responseUrls = new Map<string, ResponseUrlState>();
  /** Failures to answer on demand, by method: each call uses the first up. */
  readonly #failures = new Map<string, { error: string; status: number }[]>();
  readonly #now: () => number;
  readonly #rateNow: () => number;

  constructor(options: FakeSlackOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#rateNow = options.rateNow ?? Date.now;
  }

  /**
   * Calls to answer with HTTP 429 (Slack's rate limit, `Retry-After: 1`), by Web API method: each such call uses one
   * up. The Web API client waits and retries them.
   */
  readonly rateLimited = new Map<string, number>();

  /**
   * Files uploaded the way WebClient.filesUploadV2 does it (files.getUploadURLExternal, a POST of the content to the
   * URL it answered, files.completeUploadExternal), by file id: name, length announced, content received, and the
   * channel it was shared in once completed.
   */
  readonly files = new Map<
    string,
    { filename: string; length: number; content?: string; channel?: string; title?: string }
  >();

  /** Calls held before their answer (`hold`): the first matching call waits for its release. */
  readonly #holds: {
    method: string;
    matches: (args: Record<string, unknown>) => boolean;
    reached: () => void;
    released: Promise<void>;
  }[] = [];

  /**
   * Holds the next call of `method` whose arguments match, before it is answered or recorded, until `release()`:
   * a test uses it to let other work run while the bot waits on Slack (two clicks interleaved at one point).
   * `reached` resolves once such a call arrived.
   */
  hold(
    method: string,
    matches: (args: Record<string, unknown>) => boolean = () => true,
  ): { reached: Promise<void>; release: () => void } {
    let reached = () => {};
    let release = () => {};
    const arrived = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.#holds.push({ method, matches, reached, released });
    return { reached: arrived, release };
  }

  /** Members returned by usergroups.users.list, by user group id. */
  readonly usergroups = new Map<string, string[]>();

  get url(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }

  /**
   * Issues a response_url (once per id; asking again gives the same URL): a slash command's (`command`: every post
   * adds a message, replace_original or not) or an interactive message's (`interaction`: replace_original replaces
   * `original`, the message clicked). It takes RESPONSE_URL_POSTS posts within RESPONSE_URL_LIFE_MS.
   */
  responseUrl(id: string, kind: 'command' | 'interaction' = 'interaction', original?: ResponseMessage): string {
    if (!this.#responseUrls.has(id))
      this.#responseUrls.set(id, {
        kind,
        createdAt: this.#now(),
        posts: 0,
        shown: original ? [{ ...original }] : [],
        ...(original ? { original: 0 } : {}),
      });
    return `http://127.0.0.1:${this.port}/response/${id}`;
  }

  /** What a slash command's ack said (shown to its user before anything posted to its response_url). */
  acked(id: string, message: { text?: unknown; blocks?: unknown }): void {
    const state = this.#responseUrls.get(id);
    if (!state || (message.text === undefined && message.blocks === undefined)) return;
    state.shown.push({ text: String(message.text ?? ''), blocks: Array.isArray(message.blocks) ? message.blocks : [] });
  }

  /** The messages a response_url's user sees now, oldest first (see responseUrl). */
  shown(id: string): ResponseMessage[] {
    return (this.#responseUrls.get(id)?.shown ?? []).map((m) => ({ ...m }));
  }

  /** The next `times` calls of `method` answer `ok: false` with `error` (HTTP `status`, 200 as Slack does). */
  failNext(method: string, error: string, { times = 1, status = 200 }: { times?: number; status?: number } = {}): void {
    const queue = this.#failures.get(method) ?? [];
    for (let i = 0; i < times; i++) queue.push({ error, status });
    this.#failures.set(method, queue);
  }

  /** A post to a response_url: Slack's answer (status and body), and what it shows. */
  #respond(id: string, args: Record<string, unknown>): { status: number; answer: Record<string, unknown> } {
    const state = this.#responseUrls.get(id);
    if (!state || this.#now() - state.createdAt > RESPONSE_URL_LIFE_MS)
      return { status: 404, answer: { ok: false, error: 'expired_url' } };
    if (state.posts >= RESPONSE_URL_POSTS) return { status: 404, answer: { ok: false, error: 'used_url' } };
    state.posts++;
    const message = { text: String(args.text ?? ''), blocks: Array.isArray(args.blocks) ? args.blocks : [] };
    const yes = (v: unknown) => v === true || v === 'true';
    if (state.kind === 'interaction' && state.original !== undefined && state.shown[state.original]) {
      if (yes(args.delete_original)) {
        state.shown.splice(state.original, 1);
        delete state.original;
        return { status: 200, answer: { ok: true } };
      }
      if (yes(args.replace_original)) {
        state.shown[state.original] = { ...message, edited: true };
        return { status: 200, answer: { ok: true } };
      }
    }
    if (!yes(args.delete_original)) state.shown.push(message);
    return { status: 200, answer: { ok: true } };
  }

  async start(port = 0): Promise<this> {
    const server = createServer(async (req, res) => {
      const raw = await readBody(req);
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (path.startsWith('/upload/')) {
        // The upload URL files.getUploadURLExternal answered: record the content like a Web API call.
        const fileId = path.slice('/upload/'.length);
        const file = this.files.get(fileId);
        const content = await uploadedContent(raw, req.headers['content-type']);
        if (file) file.content = content;
        const call: RecordedCall = { method: 'file_upload', args: { file_id: fileId, content }, at: Date.now() };
        this.calls.push(call);
        this.onCall?.(call);
        for (const observe of this.observers) observe(call);
        res.writeHead(file ? 200 : 404, { 'content-type': 'text/plain' });
        res.end(file ? `OK - ${raw.length}` : 'no such upload');
        return;
      }
      if (!path.startsWith('/api/') && !path.startsWith('/response/')) {
        try {
          if (await this.extraRoute?.(req, res, raw)) return;
        } catch (error) {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String((error as Error)?.message ?? error));
          return;
        }
      }
      const args = parseBody(raw, req.headers['content-type']);
      const method = path.startsWith('/api/') ? path.slice(5) : path.startsWith('/response/') ? 'response_url' : path;
      const auth = req.headers.authorization;
      const call: RecordedCall = {
        method,
        args,
        at: Date.now(),
        ...(auth ? { token: auth.replace(/^Bearer /, '') } : {}),
      };
      if (path.startsWith('/response/')) call.args = { ...args, response_id: path.slice('/response/'.length) };
      const record = (answer: Record<string, unknown>, status: number, headers: Record<string, string> = {}) => {
        call.answer = answer;
        this.calls.push(call);
        this.onCall?.(call);
        for (const observe of this.observers) observe(call);
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(answer));
      };
      const limited = this.rateLimited.get(method) ?? 0;
      if (limited > 0) {
        this.rateLimited.set(method, limited - 1);
        record({ ok: false, error: 'ratelimited' }, 429, { 'retry-after': '1' });
        return;
      }
      const failure = this.#failures.get(method)?.shift();
      if (failure) {
        record({ ok: false, error: failure.error }, failure.status);
        return;
      }
      if (method === 'response_url') {
        const custom = this.answers.get(method);
        if (custom) {
          record(custom(call.args), 200);
          return;
        }
        const { status, answer } = this.#respond(String(call.args.response_id), args);
        record(answer, status);
        return;
      }
      const held = this.#holds.findIndex((h) => h.method === method && h.matches(args));
      if (held >= 0) {
        const [hold] = this.#holds.splice(held, 1);
        hold?.reached();
        await hold?.released;
      }
      const wait = this.limits.check(method, args, this.#rateNow());
      if (wait !== undefined) {
        record({ ok: false, error: 'ratelimited' }, 429, { 'retry-after': String(wait) });
        return;
      }
      record(this.#answer(method, args), 200);
    });
    this.#server = server;
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  #answer(method: string, args: Record<string, unknown>): Record<string, unknown> {
    const custom = this.answers.get(method);
    if (custom) return custom(args);
    const ts = `${++this.#ts}.000100`;
    switch (method) {
      case 'auth.test':
        return { ok: true, user_id: 'U0BOTUSER', bot_id: 'B0BOT', team_id: 'T0TEAM', user: 'iam-bot', team: 'Test' };
      case 'chat.postMessage': {
        const channel = String(args.channel ?? '');
        const refused = /^[UW]/.test(channel) ? this.members.dmRefusal(channel) : undefined;
        if (refused) return { ok: false, error: refused };
        return { ok: true, channel: channel.startsWith('U') ? `D${channel.slice(1)}` : channel, ts, message: { ts } };
      }
      case 'chat.update':
        return { ok: true, channel: args.channel, ts: args.ts };
      case 'chat.postEphemeral':
        return { ok: true, message_ts: ts };
      case 'views.open':
      case 'views.update':
      case 'views.push':
      case 'views.publish': {
        if (method === 'views.publish') {
          const refused = this.members.homeRefusal(String(args.user_id ?? ''));
          if (refused) return { ok: false, error: refused };
        }
        const view = typeof args.view === 'string' ? args.view : JSON.stringify(args.view ?? {});
        if (Buffer.byteLength(view, 'utf8') > VIEW_MAX_BYTES) return { ok: false, error: 'view_too_large' };
        return { ok: true, view: { id: `V${this.#ts}`, ...(args.view as object) } };
      }
      case 'users.info':
        return this.members.info(String(args.user ?? ''));
      case 'users.list':
        return this.members.list(args.cursor ? String(args.cursor) : undefined, Number(args.limit ?? 0));
      case 'usergroups.users.list':
        return { ok: true, users: this.usergroups.get(String(args.usergroup)) ?? [] };
      case 'files.getUploadURLExternal': {
        const fileId = `F${this.#ts}`;
        this.files.set(fileId, { filename: String(args.filename ?? ''), length: Number(args.length ?? 0) });
        return { ok: true, upload_url: `http://127.0.0.1:${this.port}/upload/${fileId}`, file_id: fileId };
      }
      case 'files.completeUploadExternal': {
        const list = (typeof args.files === 'string' ? safeJson(args.files) : args.files) as
          | { id: string; title?: string }[]
          | undefined;
        for (const f of Array.isArray(list) ? list : []) {
          const file = this.files.get(f.id);
          if (!file) return { ok: false, error: 'file_not_found' };
          file.channel = String(args.channel_id ?? '');
          if (f.title) file.title = f.title;
        }
        return { ok: true, files: (Array.isArray(list) ? list : []).map((f) => ({ id: f.id, title: f.title })) };
      }
      case 'conversations.open':
        return { ok: true, channel: { id: `D${String(args.users ?? '').slice(1)}` } };
      default:
        return { ok: true };
    }
  }

  /**
   * Answers a Web API call in this process, without HTTP and without rate limits (the caller applies `limits` on its
   * own clock: the simulated company of `npm run bench -- org`), and records it like any other call.
   */
  answerInProcess(method: string, args: Record<string, unknown>): Record<string, unknown> {
    const answer = this.#answer(method, args);
    const call: RecordedCall = { method, args, at: this.#now(), answer };
    this.calls.push(call);
    this.onCall?.(call);
    for (const observe of this.observers) observe(call);
    return answer;
  }

  /** Calls of one method, in order (a call answered 429 or with an error is recorded too). */
  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** The messages Slack took in `channel`, in order: a post answered 429 (and resent by the client) or refused is not one. */
  postsTo(channel: string): RecordedCall[] {
    return this.calls.filter(
      (c) => c.method === 'chat.postMessage' && c.args.channel === channel && c.answer?.ok === true,
    );
  }

  clear(): void {
    this.calls.length = 0;
  }

  /** Stops listening and drops open (keep-alive) connections, so that later calls are refused at once. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
