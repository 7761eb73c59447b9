/**
 * The local Slack stand-in for a browser (`npm run dev` offline): keeps what the bot posts as Slack would show it
 * (channels, DMs, ephemeral replies, modals, App Home) and sends the bot what Slack sends when someone types a
 * command, clicks a button or submits a modal: signed requests to POST /slack/events, with response_url and
 * trigger_id that lead back here. Dev tool only: no Lambda bundle imports it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Policy } from '../config.js';
import type { FakeSlack, RecordedCall } from './fake-slack.js';
import { postSigned, slackCommandText } from './slack-wire.js';
import { STAND_IN_PAGE } from './stand-in-page.js';

type Json = Record<string, unknown>;

/** A message as a channel shows it. */
export interface ShownMessage {
  ts: string;
  channel: string;
  text: string;
  blocks: unknown[];
  /** Only this user sees it (an ephemeral reply). */
  to?: string;
  /** Who typed it (a slash command shown as sent); absent: the bot. */
  from?: string;
  edited?: boolean;
}

export interface OpenView {
  id: string;
  view: Json;
  errors?: Record<string, string>;
}

export interface StandInUser {
  id: string;
  role: string;
}

export interface StandInOptions {
  botUrl: string;
  signingSecret: string;
  policy: Policy;
  /** Resolves once the jobs the bot started are done. */
  settle: () => Promise<void>;
  /** Runs the bot's daily tasks now, the dev clock moved `daysAhead` days from the system's now when given. */
  runDaily?: (daysAhead?: number) => Promise<{ results: unknown; daysAhead: number }>;
  /** Runs the bot's one-minute tasks now, the dev clock moved `hoursAhead` hours forward when given. */
  runMinute?: (hoursAhead?: number) => Promise<{ results: unknown; hoursAhead: number }>;
  /** From now on users.info says this member is deactivated. */
  deactivate?: (user: string) => void;
}

/** Where a response_url or a trigger_id came from. */
interface Origin {
  user: string;
  channel: string;
  messageTs?: string;
}

/** The channel where commands are typed unless another is picked. */
export const GENERAL = 'C0GENERAL';
export const BOT_USER = 'U0BOTUSER';

const dmOf = (user: string) => `D${user.slice(1)}`;

export class SlackStandIn {
  readonly messages: ShownMessage[] = [];
  readonly modals = new Map<string, OpenView[]>();
  readonly homes = new Map<string, Json>();
  readonly users: StandInUser[];
  readonly #origins = new Map<string, Origin>();
  readonly #triggers = new Map<string, string>();
  /** Members deactivated through the stand-in (shown as such on the page). */
  readonly #left = new Set<string>();
  readonly #slack: FakeSlack;
  readonly #options: StandInOptions;
  #seq = 0;
  #localTs = 1_800_000_000;

  constructor(slack: FakeSlack, options: StandInOptions) {
    this.#slack = slack;
    this.#options = options;
    this.users = peopleOf(options.policy);
    // Slack's users.info knows the people of the page (the stand-in's workspace), and the README's @alice and @bob;
    // any other id is user_not_found.
    slack.members.add(...this.users.map((u) => u.id), 'U0ALICE', 'U0BOB');
    slack.observers.push((call) => this.#record(call));
    slack.extraRoute = (req, res, body) => this.#serve(req, res, body);
  }

  get pageUrl(): string {
    return `http://localhost:${this.#slack.port}/`;
  }

  get approvalChannel(): string {
    return this.#options.policy.approvals.channel;
  }

  /** The channels a user sees, each with the messages visible to that user. */
  stateFor(user: string): Json {
    const visible = (channel: string) =>
      this.messages.filter((m) => m.channel === channel && (m.to === undefined || m.to === user));
    const stack = this.modals.get(user) ?? [];
    return {
      users: this.users,
      left: [...this.#left],
      approvalChannel: this.approvalChannel,
      channels: [
        { id: GENERAL, name: 'general', messages: visible(GENERAL) },
        { id: this.approvalChannel, name: 'approvals', messages: visible(this.approvalChannel) },
        { id: dmOf(user), name: 'iam-bot (DM)', dm: true, messages: visible(dmOf(user)) },
      ],
      home: this.homes.get(user) ?? null,
      modal: stack.at(-1) ?? null,
    };
  }

  #nextTs(): string {
    return `${++this.#localTs}.000200`;
  }

  #show(message: ShownMessage): void {
    this.messages.push(message);
  }

  #find(channel: string, ts: string): ShownMessage | undefined {
    return this.messages.find((m) => m.channel === channel && m.ts === ts);
  }

  /** Applies one Web API call (or response_url post) the bot made to what Slack would show. */
  #record(call: RecordedCall): void {
    const args = call.args as Json;
    const answer = (call.answer ?? {}) as Json;
    const text = typeof args.text === 'string' ? args.text : '';
    const blocks = Array.isArray(args.blocks) ? args.blocks : [];
    switch (call.method) {
      case 'chat.postMessage':
        this.#show({ ts: String(answer.ts), channel: String(answer.channel), text, blocks });
        return;
      case 'chat.update': {
        const m = this.#find(String(args.channel), String(args.ts));
        if (m) Object.assign(m, { text, blocks, edited: true });
        return;
      }
      case 'chat.postEphemeral':
        this.#show({
          ts: String(answer.message_ts),
          channel: String(args.channel),
          text,
          blocks,
          to: String(args.user),
        });
        return;
      case 'chat.delete': {
        const i = this.messages.findIndex((m) => m.channel === args.channel && m.ts === args.ts);
        if (i >= 0) this.messages.splice(i, 1);
        return;
      }
      case 'views.open':
      case 'views.push': {
        const user = this.#triggers.get(String(args.trigger_id));
        if (!user) return;
        const id = String((answer.view as Json | undefined)?.id);
        const view = args.view as Json;
        const stack = call.method === 'views.open' ? [] : (this.modals.get(user) ?? []);
        this.modals.set(user, [...stack, { id, view }]);
        return;
      }
      case 'views.update':
        for (const stack of this.modals.values())
          for (const open of stack)
            if (open.id === args.view_id || (args.external_id && open.view.external_id === args.external_id)) {
              open.view = args.view as Json;
              delete open.errors;
            }
        return;
      case 'views.publish':
        this.homes.set(String(args.user_id), args.view as Json);
        return;
      case 'response_url':
        this.#respond(String(args.response_id), args);
        return;
    }
  }

  /** A post to a response_url: replaces the original message, posts in the channel, or answers only its user. */
  #respond(id: string, args: Json): void {
    const origin = this.#origins.get(id);
    if (!origin) return;
    const text = typeof args.text === 'string' ? args.text : '';
    const blocks = Array.isArray(args.blocks) ? args.blocks : [];
    const original = origin.messageTs ? this.#find(origin.channel, origin.messageTs) : undefined;
    if (args.delete_original === true || args.delete_original === 'true') {
      if (original) this.messages.splice(this.messages.indexOf(original), 1);
      return;
    }
    if ((args.replace_original === true || args.replace_original === 'true') && original) {
      Object.assign(original, { text, blocks, edited: true });
      return;
    }
    const inChannel = args.response_type === 'in_channel';
    this.#show({
      ts: this.#nextTs(),
      channel: origin.channel,
      text,
      blocks,
      ...(inChannel ? {} : { to: origin.user }),
    });
  }

  #origin(origin: Origin): { responseUrl: string; triggerId: string } {
    const n = ++this.#seq;
    const id = `stand-in-${n}`;
    this.#origins.set(id, origin);
    const triggerId = `${n}.${Date.now()}.standin`;
    this.#triggers.set(triggerId, origin.user);
    // A command's response_url only adds messages (replace_original included); a click's replaces its message.
    const original = origin.messageTs ? this.#find(origin.channel, origin.messageTs) : undefined;
    const responseUrl = origin.messageTs
      ? this.#slack.responseUrl(id, 'interaction', original && { text: original.text, blocks: original.blocks })
      : this.#slack.responseUrl(id, 'command');
    return { responseUrl, triggerId };
  }

  #userObject(user: string) {
    return { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: 'T0LOCAL' };
  }

  /** `/iam <text>` typed by a user in a channel: sent as Slack sends it; an answer in the ack shows as ephemeral. */
  async command(user: string, channel: string, typed: string): Promise<{ status: number; ack: string }> {
    const [command = '/iam'] = typed.trim().split(/\s+/);
    const text = typed.trim().slice(command.length).trim();
    this.#show({ ts: this.#nextTs(), channel, text: typed.trim(), blocks: [], to: user, from: user });
    const { responseUrl, triggerId } = this.#origin({ user, channel });
    const body = new URLSearchParams({
      token: 'local-verification-token',
      team_id: 'T0LOCAL',
      team_domain: 'local',
      channel_id: channel,
      channel_name: channel === GENERAL ? 'general' : channel,
      user_id: user,
      user_name: user.toLowerCase(),
      command,
      text: slackCommandText(text),
      api_app_id: 'A0LOCAL',
      is_enterprise_install: 'false',
      response_url: responseUrl,
      trigger_id: triggerId,
    }).toString();
    const { status, text: ack } = await this.#post(body);
    this.#showAck(user, channel, status, ack);
    return { status, ack };
  }

  #showAck(user: string, channel: string, status: number, ack: string): void {
    if (status !== 200) {
      this.#show({ ts: this.#nextTs(), channel, text: `The bot answered HTTP ${status}.`, blocks: [], to: user });
      return;
    }
    if (!ack.trim()) return;
    let parsed: Json;
    try {
      parsed = JSON.parse(ack) as Json;
    } catch {
      parsed = { text: ack };
    }
    if (!parsed.text && !parsed.blocks) return;
    this.#show({
      ts: this.#nextTs(),
      channel,
      text: String(parsed.text ?? ''),
      blocks: Array.isArray(parsed.blocks) ? parsed.blocks : [],
      ...(parsed.response_type === 'in_channel' ? {} : { to: user }),
    });
  }

  #post(body: string, contentType?: string) {
    return postSigned(`${this.#options.botUrl}/slack/events`, this.#options.signingSecret, body, contentType);
  }

  /** A click on a message's button or select (block_actions), with the whole message as Slack sends it. */
  async messageAction(user: string, channel: string, ts: string, action: Json): Promise<{ status: number }> {
    const message = this.#find(channel, ts);
    if (!message) throw new Error(`No message ${ts} in ${channel}`);
    const { responseUrl, triggerId } = this.#origin({ user, channel, messageTs: ts });
    const payload = {
      type: 'block_actions',
      user: this.#userObject(user),
      api_app_id: 'A0LOCAL',
      token: 'local-verification-token',
      container: {
        type: 'message',
        message_ts: ts,
        channel_id: channel,
        is_ephemeral: Boolean(message.to),
      },
      trigger_id: triggerId,
      team: { id: 'T0LOCAL', domain: 'local' },
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: channel, name: channel },
      message: {
        type: 'message',
        user: BOT_USER,
        bot_id: 'B0BOT',
        ts,
        text: message.text,
        blocks: message.blocks,
      },
      state: { values: {} },
      response_url: responseUrl,
      actions: [{ ...action, action_ts: `${Date.now() / 1000}` }],
    };
    const { status } = await this.#post(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());
    return { status };
  }

  /** A click on the button `actionId` of a message, as the page sends it. */
  async clickButton(user: string, message: ShownMessage, actionId: string): Promise<{ status: number }> {
    for (const block of message.blocks as { block_id?: string; elements?: Json[]; accessory?: Json }[]) {
      const button = [...(block.elements ?? []), ...(block.accessory ? [block.accessory] : [])].find(
        (e) => e.type === 'button' && e.action_id === actionId,
      );
      if (button)
        return this.messageAction(user, message.channel, message.ts, {
          type: 'button',
          action_id: actionId,
          block_id: block.block_id ?? '',
          text: button.text,
          ...(button.value === undefined ? {} : { value: button.value }),
        });
    }
    throw new Error(`No button ${actionId} on message ${message.ts}`);
  }

  /** A click inside a modal or the App Home (block_actions from a view: no response_url). */
  async viewAction(user: string, viewId: string, action: Json, values: Json): Promise<{ status: number }> {
    const open = (this.modals.get(user) ?? []).find((v) => v.id === viewId);
    const view = open?.view ?? this.homes.get(user);
    const { triggerId } = this.#origin({ user, channel: dmOf(user) });
    const payload = {
      type: 'block_actions',
      user: this.#userObject(user),
      api_app_id: 'A0LOCAL',
      token: 'local-verification-token',
      container: { type: 'view', view_id: viewId },
      trigger_id: triggerId,
      team: { id: 'T0LOCAL', domain: 'local' },
      view: { ...view, id: viewId, state: { values } },
      actions: [{ ...action, action_ts: `${Date.now() / 1000}` }],
    };
    const { status } = await this.#post(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());
    return { status };
  }

  /** Submits the user's top modal with its inputs' state.values (view_submission), then does what the ack says. */
  async submit(user: string, viewId: string, values: Json): Promise<{ status: number; ack: Json }> {
    const stack = this.modals.get(user) ?? [];
    const open = stack.find((v) => v.id === viewId);
    if (!open) throw new Error(`No open view ${viewId} for ${user}`);
    const { triggerId } = this.#origin({ user, channel: dmOf(user) });
    const payload = {
      type: 'view_submission',
      team: { id: 'T0LOCAL', domain: 'local' },
      user: this.#userObject(user),
      api_app_id: 'A0LOCAL',
      token: 'local-verification-token',
      trigger_id: triggerId,
      view: {
        ...open.view,
        id: viewId,
        team_id: 'T0LOCAL',
        state: { values },
        hash: `${this.#seq}.hash`,
        private_metadata: open.view.private_metadata ?? '',
        callback_id: open.view.callback_id ?? '',
      },
      response_urls: [],
      is_enterprise_install: false,
    };
    const { status, text } = await this.#post(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());
    let ack: Json = {};
    try {
      ack = text.trim() ? (JSON.parse(text) as Json) : {};
    } catch {
      ack = {};
    }
    if (status !== 200) {
      open.errors = { _: `The bot answered HTTP ${status}.` };
      return { status, ack };
    }
    const action = ack.response_action;
    if (action === 'errors') open.errors = ack.errors as Record<string, string>;
    else if (action === 'update') {
      open.view = ack.view as Json;
      delete open.errors;
    } else if (action === 'push') stack.push({ id: `V${Date.now()}`, view: ack.view as Json });
    else if (action === 'clear') this.modals.set(user, []);
    else this.modals.set(user, stack.slice(0, stack.indexOf(open)));
    return { status, ack };
  }

  /** Closes the user's top modal (Cancel). */
  close(user: string): void {
    this.modals.set(user, (this.modals.get(user) ?? []).slice(0, -1));
  }

  /** The user opens the bot's App Home tab: Slack sends app_home_opened. */
  async openHome(user: string): Promise<{ status: number }> {
    const body = JSON.stringify({
      token: 'local-verification-token',
      team_id: 'T0LOCAL',
      api_app_id: 'A0LOCAL',
      type: 'event_callback',
      event_id: `Ev${++this.#seq}`,
      event_time: Math.floor(Date.now() / 1000),
      event: {
        type: 'app_home_opened',
        user,
        channel: dmOf(user),
        tab: 'home',
        event_ts: `${Date.now() / 1000}`,
      },
      authorizations: [{ team_id: 'T0LOCAL', user_id: BOT_USER, is_bot: true }],
    });
    const { status } = await this.#post(body, 'application/json');
    return { status };
  }

  /**
   * The daily schedule now (optionally `daysAhead` days from today on the dev clock), once its jobs are done: what
   * each task did and the Slack calls made meanwhile.
   */
  async runDaily(daysAhead?: number): Promise<{ results: unknown; daysAhead: number; calls: RecordedCall[] }> {
    if (!this.#options.runDaily) throw new Error('This stand-in cannot run the daily tasks');
    const before = this.#slack.calls.length;
    const ran = await this.#options.runDaily(daysAhead);
    await this.#options.settle();
    return { ...ran, calls: this.#slack.calls.slice(before) };
  }

  /**
   * The one-minute schedule now (optionally the dev clock moved `hoursAhead` hours forward: a temporary membership's
   * notice or end), once its jobs are done: what each task did and the Slack calls made meanwhile.
   */
  async runMinute(hoursAhead?: number): Promise<{ results: unknown; hoursAhead: number; calls: RecordedCall[] }> {
    if (!this.#options.runMinute) throw new Error('This stand-in cannot run the one-minute tasks');
    const before = this.#slack.calls.length;
    const ran = await this.#options.runMinute(hoursAhead);
    await this.#options.settle();
    return { ...ran, calls: this.#slack.calls.slice(before) };
  }

  /**
   * `user` deactivated in Slack: users.info says so from now on, and Slack sends the bot a signed `user_change`
   * event with `deleted: true`. Returns once the bot's jobs are done, with the Slack calls made meanwhile.
   */
  async deactivate(user: string): Promise<{ status: number; calls: RecordedCall[] }> {
    if (!this.#options.deactivate) throw new Error('This stand-in cannot deactivate members');
    const before = this.#slack.calls.length;
    this.#options.deactivate(user);
    this.#left.add(user);
    const now = Date.now();
    const body = JSON.stringify({
      token: 'local-verification-token',
      team_id: 'T0LOCAL',
      api_app_id: 'A0LOCAL',
      type: 'event_callback',
      event_id: `Ev${++this.#seq}${now}`,
      event_time: Math.floor(now / 1000),
      event: {
        type: 'user_change',
        user: { id: user, team_id: 'T0LOCAL', name: user.toLowerCase(), deleted: true },
        cache_ts: Math.floor(now / 1000),
        event_ts: `${now / 1000}`,
      },
      authorizations: [{ team_id: 'T0LOCAL', user_id: BOT_USER, is_bot: true }],
    });
    const { status } = await this.#post(body, 'application/json');
    await this.#options.settle();
    return { status, calls: this.#slack.calls.slice(before) };
  }

  async #serve(req: IncomingMessage, res: ServerResponse, body: string): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'http://local');
    const send = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(value));
    };
    if (req.method === 'GET' && url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(STAND_IN_PAGE);
      return true;
    }
    if (req.method === 'GET' && url.pathname === '/local/calls') {
      send(200, { count: this.#slack.calls.length });
      return true;
    }
    if (req.method === 'GET' && url.pathname === '/local/settle') {
      // Waits for the jobs the bot started (its worker runs in-process), then lists the calls made since `after`.
      await this.#options.settle();
      const after = Number(url.searchParams.get('after') ?? 0);
      send(200, { calls: this.#slack.calls.slice(after) });
      return true;
    }
    if (req.method === 'GET' && url.pathname === '/stand-in/state') {
      send(200, this.stateFor(url.searchParams.get('user') ?? this.users[0]?.id ?? ''));
      return true;
    }
    if (req.method !== 'POST' || !url.pathname.startsWith('/stand-in/')) return false;
    // JSON only: another web site cannot send that without a CORS preflight, which is never granted here, so it
    // cannot click through the stand-in on your behalf.
    if (!req.headers['content-type']?.startsWith('application/json')) {
      send(415, { error: 'send JSON' });
      return true;
    }
    const input = (body ? JSON.parse(body) : {}) as Json;
    if (url.pathname === '/stand-in/daily') {
      const days = input.daysAhead;
      if (days !== undefined && days !== null && days !== '' && !(Number(days) >= 0)) {
        send(400, { error: 'daysAhead must be a number >= 0' });
        return true;
      }
      send(200, await this.runDaily(days === undefined || days === null || days === '' ? undefined : Number(days)));
      return true;
    }
    if (url.pathname === '/stand-in/minute') {
      const hours = input.hoursAhead;
      if (hours !== undefined && hours !== null && hours !== '' && !(Number(hours) >= 0)) {
        send(400, { error: 'hoursAhead must be a number >= 0' });
        return true;
      }
      send(
        200,
        await this.runMinute(hours === undefined || hours === null || hours === '' ? undefined : Number(hours)),
      );
      return true;
    }
    const user = String(input.user ?? '');
    if (!/^[UW][A-Z0-9]{2,}$/.test(user)) {
      send(400, { error: 'user must be a Slack user id' });
      return true;
    }
    switch (url.pathname) {
      case '/stand-in/command':
        send(200, await this.command(user, String(input.channel ?? GENERAL), String(input.text ?? '')));
        return true;
      case '/stand-in/action':
        send(
          200,
          input.viewId
            ? await this.viewAction(user, String(input.viewId), input.action as Json, (input.values ?? {}) as Json)
            : await this.messageAction(user, String(input.channel), String(input.ts), input.action as Json),
        );
        return true;
      case '/stand-in/submit':
        send(200, await this.submit(user, String(input.viewId), (input.values ?? {}) as Json));
        return true;
      case '/stand-in/close':
        this.close(user);
        send(200, {});
        return true;
      case '/stand-in/home':
        send(200, await this.openHome(user));
        return true;
      case '/stand-in/leave':
        send(200, await this.deactivate(user));
        return true;
      default:
        send(404, { error: 'unknown' });
        return true;
    }
  }
}

/** The people the stand-in lets you be: the policy's approvers, then a requester and a recipient. */
export function peopleOf(policy: Policy): StandInUser[] {
  const people: StandInUser[] = [];
  const add = (id: string, role: string) => {
    if (!people.some((p) => p.id === id)) people.push({ id, role });
  };
  add('U0REQUESTER', 'requester');
  add('U0RECIPIENT', 'recipient');
  for (const id of policy.approvals.approvers.users ?? []) add(id, 'approver');
  for (const g of policy.groups)
    for (const id of (g as { approvers?: { users?: string[] } }).approvers?.users ?? [])
      add(id, `approver of ${g.name}`);
  return people;
}
