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

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

/**
 * A stand-in for the Slack Web API on 127.0.0.1 that records every call and answers like Slack does. Tests use it
 * to observe what the bot says; `npm run dev` uses it when no Slack credentials are set, printing each call.
 * `POST /response/<id>` plays a response_url.
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

  /**
   * What users.info says of a member: deactivated (`deleted: true`), user_not_found, or a failure (`error`: Slack
   * answers `ok: false, error: internal_error`). A member not listed is active.
   */
  readonly members = new Map<string, 'active' | 'deleted' | 'not-found' | 'error'>();

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

  /** Members returned by usergroups.users.list, by user group id. */
  readonly usergroups = new Map<string, string[]>();

  get url(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }

  responseUrl(id: string): string {
    return `http://127.0.0.1:${this.port}/response/${id}`;
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
      const limited = this.rateLimited.get(method) ?? 0;
      if (limited > 0) {
        this.rateLimited.set(method, limited - 1);
        call.answer = { ok: false, error: 'ratelimited' };
        this.calls.push(call);
        this.onCall?.(call);
        for (const observe of this.observers) observe(call);
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' });
        res.end(JSON.stringify(call.answer));
        return;
      }
      const answer = this.#answer(method, args);
      call.answer = answer;
      this.calls.push(call);
      this.onCall?.(call);
      for (const observe of this.observers) observe(call);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(answer));
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
        return { ok: true, channel: channel.startsWith('U') ? `D${channel.slice(1)}` : channel, ts, message: { ts } };
      }
      case 'chat.update':
        return { ok: true, channel: args.channel, ts: args.ts };
      case 'chat.postEphemeral':
        return { ok: true, message_ts: ts };
      case 'views.open':
      case 'views.update':
      case 'views.push':
      case 'views.publish':
        return { ok: true, view: { id: `V${this.#ts}`, ...(args.view as object) } };
      case 'users.info': {
        const id = String(args.user ?? '');
        const state = this.members.get(id) ?? 'active';
        if (state === 'not-found') return { ok: false, error: 'user_not_found' };
        if (state === 'error') return { ok: false, error: 'fatal_error' };
        return { ok: true, user: { id, name: id.toLowerCase(), deleted: state === 'deleted' } };
      }
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

  /** Calls of one method, in order. */
  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
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
