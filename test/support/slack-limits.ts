/**
 * The shared Slack-limit check: every payload the bot sends to Slack (Web API calls, response_url posts and the
 * answers it gives in acks) must be one Slack accepts. Limits are Slack's documented Block Kit limits
 * (docs.slack.dev/reference/block-kit: blocks, block elements, composition objects, views). Test bots check every
 * recorded Slack call and every ack body as it happens; test/support/setup.ts fails the file after it if any broke a
 * limit, naming the method, the path in the payload and the limit.
 *
 * It checks what this bot uses; a block or element type it does not know is reported, so that a builder using a new
 * one adds its limits here.
 */

type Json = Record<string, unknown>;

export const LIMITS = {
  messageBlocks: 50,
  viewBlocks: 100,
  messageText: 40_000,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  headerText: 150,
  contextElements: 10,
  contextText: 3000,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  buttonUrl: 3000,
  id: 255,
  options: 100,
  optionGroups: 100,
  optionText: 75,
  optionValue: 150,
  optionDescription: 75,
  optionGroupLabel: 75,
  radioOptions: 10,
  placeholder: 150,
  viewTitle: 24,
  viewButton: 24,
  privateMetadata: 3000,
  inputLabel: 2000,
  inputHint: 2000,
  inputMaxLength: 3000,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
} as const;

const MESSAGE_METHODS = [
  'chat.postMessage',
  'chat.postEphemeral',
  'chat.update',
  'chat.scheduleMessage',
  'response_url',
];
const VIEW_METHODS = ['views.open', 'views.update', 'views.push', 'views.publish'];

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Slack counts characters; a JS string's length counts UTF-16 units, so count code points. */
const chars = (s: string) => [...s].length;

class Checker {
  readonly problems: string[] = [];
  constructor(private readonly method: string) {}

  problem(path: string, what: string): void {
    this.problems.push(`${this.method}: ${path || '(payload)'} ${what}`);
  }

  string(v: unknown, path: string, max: number, { required = true, min = 1 } = {}): v is string {
    if (v === undefined || v === null) {
      if (required) this.problem(path, 'is required');
      return false;
    }
    if (typeof v !== 'string') {
      this.problem(path, `must be a string (got ${typeof v})`);
      return false;
    }
    const n = chars(v);
    if (n < min) this.problem(path, `is empty (at least ${min} character${min === 1 ? '' : 's'})`);
    if (n > max) this.problem(path, `has ${n} characters, more than Slack's limit of ${max}`);
    return true;
  }

  array(v: unknown, path: string, max: number, { required = true, min = 1 } = {}): unknown[] {
    if (v === undefined || v === null) {
      if (required) this.problem(path, 'is required');
      return [];
    }
    if (!Array.isArray(v)) {
      this.problem(path, 'must be an array');
      return [];
    }
    if (v.length < min) this.problem(path, `has ${v.length} items, at least ${min} needed`);
    if (v.length > max) this.problem(path, `has ${v.length} items, more than Slack's limit of ${max}`);
    return v;
  }

  /** A text object: `{ type: 'plain_text' | 'mrkdwn', text }`. */
  text(v: unknown, path: string, max: number, { plainOnly = false, required = true } = {}): void {
    if (v === undefined || v === null) {
      if (required) this.problem(path, 'is required');
      return;
    }
    if (!isObject(v)) {
      this.problem(path, 'must be a text object');
      return;
    }
    const allowed = plainOnly ? ['plain_text'] : ['plain_text', 'mrkdwn'];
    if (!allowed.includes(String(v.type)))
      this.problem(`${path}.type`, `must be ${allowed.join(' or ')} (got ${JSON.stringify(v.type)})`);
    this.string(v.text, `${path}.text`, max);
  }

  id(v: unknown, path: string, required = false): void {
    this.string(v, path, LIMITS.id, { required });
  }

  confirm(v: unknown, path: string): void {
    if (v === undefined) return;
    if (!isObject(v)) {
      this.problem(path, 'must be a confirmation dialog object');
      return;
    }
    this.text(v.title, `${path}.title`, LIMITS.confirmTitle, { plainOnly: true });
    this.text(v.text, `${path}.text`, LIMITS.confirmText);
    this.text(v.confirm, `${path}.confirm`, LIMITS.confirmButton, { plainOnly: true });
    this.text(v.deny, `${path}.deny`, LIMITS.confirmButton, { plainOnly: true });
  }

  option(v: unknown, path: string, { mrkdwn = false } = {}): string | undefined {
    if (!isObject(v)) {
      this.problem(path, 'must be an option object');
      return undefined;
    }
    this.text(v.text, `${path}.text`, LIMITS.optionText, { plainOnly: !mrkdwn });
    this.string(v.value, `${path}.value`, LIMITS.optionValue);
    this.text(v.description, `${path}.description`, LIMITS.optionDescription, { plainOnly: !mrkdwn, required: false });
    return JSON.stringify(v);
  }

  /** Options of a menu, directly or in option groups; returns each option's JSON (initial options must be one). */
  menuOptions(el: Json, path: string): Set<string> {
    const seen = new Set<string>();
    const values = new Set<string>();
    const add = (o: unknown, p: string) => {
      const json = this.option(o, p);
      if (json) seen.add(json);
      const value = isObject(o) ? String(o.value) : '';
      if (values.has(value)) this.problem(`${p}.value`, `repeats the value ${JSON.stringify(value)}`);
      values.add(value);
    };
    if (el.options !== undefined && el.option_groups !== undefined)
      this.problem(path, 'has both options and option_groups (Slack takes one)');
    if (el.option_groups !== undefined) {
      for (const [i, g] of this.array(el.option_groups, `${path}.option_groups`, LIMITS.optionGroups).entries()) {
        const gp = `${path}.option_groups[${i}]`;
        if (!isObject(g)) {
          this.problem(gp, 'must be an option group object');
          continue;
        }
        this.text(g.label, `${gp}.label`, LIMITS.optionGroupLabel, { plainOnly: true });
        for (const [j, o] of this.array(g.options, `${gp}.options`, LIMITS.options).entries())
          add(o, `${gp}.options[${j}]`);
      }
    } else {
      for (const [i, o] of this.array(el.options, `${path}.options`, LIMITS.options).entries())
        add(o, `${path}.options[${i}]`);
    }
    return seen;
  }

  initial(options: Set<string>, v: unknown, path: string): void {
    if (v !== undefined && !options.has(JSON.stringify(v))) this.problem(path, 'is not one of the options');
  }

  element(el: unknown, path: string, actionIds: Set<string>, where: 'actions' | 'input' | 'accessory'): void {
    if (!isObject(el)) {
      this.problem(path, 'must be an element object');
      return;
    }
    if (typeof el.action_id === 'string') {
      if (actionIds.has(el.action_id)) this.problem(`${path}.action_id`, `repeats ${el.action_id} in its block`);
      actionIds.add(el.action_id);
    }
    this.id(el.action_id, `${path}.action_id`);
    if (el.placeholder !== undefined)
      this.text(el.placeholder, `${path}.placeholder`, LIMITS.placeholder, { plainOnly: true });
    this.confirm(el.confirm, `${path}.confirm`);
    switch (el.type) {
      case 'button':
        if (where === 'input') this.problem(path, 'a button cannot be an input element');
        this.text(el.text, `${path}.text`, LIMITS.buttonText, { plainOnly: true });
        this.string(el.value, `${path}.value`, LIMITS.buttonValue, { required: false });
        this.string(el.url, `${path}.url`, LIMITS.buttonUrl, { required: false });
        if (el.style !== undefined && el.style !== 'primary' && el.style !== 'danger')
          this.problem(`${path}.style`, 'must be primary or danger');
        return;
      case 'static_select':
      case 'multi_static_select': {
        const options = this.menuOptions(el, path);
        this.initial(options, el.initial_option, `${path}.initial_option`);
        if (el.initial_options !== undefined)
          for (const [i, o] of this.array(el.initial_options, `${path}.initial_options`, LIMITS.options).entries())
            this.initial(options, o, `${path}.initial_options[${i}]`);
        if (el.max_selected_items !== undefined && !(Number(el.max_selected_items) >= 1))
          this.problem(`${path}.max_selected_items`, 'must be at least 1');
        return;
      }
      case 'radio_buttons':
      case 'checkboxes': {
        const options = new Set<string>();
        for (const [i, o] of this.array(el.options, `${path}.options`, LIMITS.radioOptions).entries()) {
          const json = this.option(o, `${path}.options[${i}]`, { mrkdwn: true });
          if (json) options.add(json);
        }
        this.initial(options, el.initial_option, `${path}.initial_option`);
        return;
      }
      case 'plain_text_input': {
        if (where === 'actions') this.problem(path, 'a plain_text_input cannot be in an actions block');
        const max = el.max_length === undefined ? LIMITS.inputMaxLength : Number(el.max_length);
        if (!(max >= 1 && max <= LIMITS.inputMaxLength))
          this.problem(
            `${path}.max_length`,
            `is ${String(el.max_length)}, Slack's limit is 1 to ${LIMITS.inputMaxLength}`,
          );
        if (el.min_length !== undefined && !(Number(el.min_length) >= 0 && Number(el.min_length) <= max))
          this.problem(`${path}.min_length`, 'must be between 0 and max_length');
        this.string(el.initial_value, `${path}.initial_value`, Math.min(max, LIMITS.inputMaxLength), {
          required: false,
          min: 0,
        });
        return;
      }
      case 'users_select':
      case 'multi_users_select':
      case 'conversations_select':
      case 'channels_select':
      case 'datepicker':
        return;
      default:
        this.problem(`${path}.type`, `is ${JSON.stringify(el.type)}, an element this check does not know`);
    }
  }

  block(b: unknown, path: string, blockIds: Set<string>, surface: 'message' | 'modal' | 'home'): void {
    if (!isObject(b)) {
      this.problem(path, 'must be a block object');
      return;
    }
    if (b.block_id !== undefined) {
      this.id(b.block_id, `${path}.block_id`);
      const id = String(b.block_id);
      if (blockIds.has(id)) this.problem(`${path}.block_id`, `repeats ${id}: block ids must be unique in a payload`);
      blockIds.add(id);
    }
    const actionIds = new Set<string>();
    switch (b.type) {
      case 'section': {
        if (b.text === undefined && b.fields === undefined) this.problem(path, 'needs text or fields');
        if (b.text !== undefined) this.text(b.text, `${path}.text`, LIMITS.sectionText);
        if (b.fields !== undefined)
          for (const [i, f] of this.array(b.fields, `${path}.fields`, LIMITS.sectionFields).entries())
            this.text(f, `${path}.fields[${i}]`, LIMITS.sectionFieldText);
        if (b.accessory !== undefined) this.element(b.accessory, `${path}.accessory`, actionIds, 'accessory');
        return;
      }
      case 'header':
        this.text(b.text, `${path}.text`, LIMITS.headerText, { plainOnly: true });
        return;
      case 'context':
        for (const [i, e] of this.array(b.elements, `${path}.elements`, LIMITS.contextElements).entries()) {
          if (isObject(e) && e.type === 'image') this.string(e.image_url, `${path}.elements[${i}].image_url`, 3000);
          else this.text(e, `${path}.elements[${i}]`, LIMITS.contextText);
        }
        return;
      case 'actions':
        for (const [i, e] of this.array(b.elements, `${path}.elements`, LIMITS.actionsElements).entries())
          this.element(e, `${path}.elements[${i}]`, actionIds, 'actions');
        return;
      case 'input':
        this.text(b.label, `${path}.label`, LIMITS.inputLabel, { plainOnly: true });
        this.text(b.hint, `${path}.hint`, LIMITS.inputHint, { plainOnly: true, required: false });
        if (b.element === undefined) {
          this.problem(`${path}.element`, 'is required');
          return;
        }
        this.element(b.element, `${path}.element`, actionIds, 'input');
        return;
      case 'divider':
        return;
      default:
        this.problem(
          `${path}.type`,
          `is ${JSON.stringify(b.type)}, a block this check does not know (on a ${surface})`,
        );
    }
  }

  blocks(v: unknown, path: string, max: number, surface: 'message' | 'modal' | 'home', required: boolean): Json[] {
    const blocks = this.array(v, path, max, { required, min: surface === 'message' ? 0 : 1 });
    const blockIds = new Set<string>();
    for (const [i, b] of blocks.entries()) this.block(b, `${path}[${i}]`, blockIds, surface);
    return blocks.filter(isObject);
  }

  message(args: Json, path = ''): void {
    const at = (p: string) => (path ? `${path}.${p}` : p);
    const hasBlocks = Array.isArray(args.blocks) && args.blocks.length > 0;
    if (args.text === undefined && !hasBlocks && args.attachments === undefined && args.delete_original !== true)
      this.problem(path, 'needs text or blocks');
    if (args.text !== undefined) this.string(args.text, at('text'), LIMITS.messageText, { min: hasBlocks ? 0 : 1 });
    if (args.blocks !== undefined) this.blocks(args.blocks, at('blocks'), LIMITS.messageBlocks, 'message', false);
  }

  view(v: unknown, path: string): void {
    if (!isObject(v)) {
      this.problem(path, 'is required (a view object)');
      return;
    }
    if (v.type !== 'modal' && v.type !== 'home') this.problem(`${path}.type`, 'must be modal or home');
    const surface = v.type === 'home' ? 'home' : 'modal';
    const blocks = this.blocks(v.blocks, `${path}.blocks`, LIMITS.viewBlocks, surface, true);
    this.string(v.private_metadata, `${path}.private_metadata`, LIMITS.privateMetadata, { required: false, min: 0 });
    this.id(v.callback_id, `${path}.callback_id`);
    if (surface === 'home') return;
    this.text(v.title, `${path}.title`, LIMITS.viewTitle, { plainOnly: true });
    this.text(v.close, `${path}.close`, LIMITS.viewButton, { plainOnly: true, required: false });
    const hasInput = blocks.some((b) => b.type === 'input');
    this.text(v.submit, `${path}.submit`, LIMITS.viewButton, { plainOnly: true, required: hasInput });
  }
}

/**
 * What is wrong, by Slack's limits, with one payload sent to Slack: `method` is the Web API method, `response_url`,
 * or `ack` (the body of an answer to Slack's request). Empty when Slack would accept it.
 */
export function slackPayloadProblems(method: string, args: Record<string, unknown>): string[] {
  const check = new Checker(method);
  if (MESSAGE_METHODS.includes(method)) {
    if (method !== 'response_url' && typeof args.channel !== 'string') check.problem('channel', 'is required');
    if (method === 'chat.update' && typeof args.ts !== 'string') check.problem('ts', 'is required');
    if (method === 'chat.postEphemeral' && typeof args.user !== 'string') check.problem('user', 'is required');
    check.message(args);
  } else if (VIEW_METHODS.includes(method)) {
    if (method === 'views.open' || method === 'views.push')
      if (typeof args.trigger_id !== 'string') check.problem('trigger_id', 'is required');
    if (method === 'views.publish' && typeof args.user_id !== 'string') check.problem('user_id', 'is required');
    if (method === 'views.publish' && isObject(args.view) && args.view.type !== 'home')
      check.problem('view.type', 'must be home for views.publish');
    check.view(args.view, 'view');
  } else if (method === 'ack') {
    if (args.response_action === 'update' || args.response_action === 'push') check.view(args.view, 'view');
    else if (args.response_action === 'errors') {
      if (!isObject(args.errors) || Object.keys(args.errors).length === 0)
        check.problem('errors', 'must map block ids to messages');
      else
        for (const [block, message] of Object.entries(args.errors))
          check.string(message, `errors.${block}`, LIMITS.messageText); // Slack documents no shorter limit
    } else if (args.response_action === 'clear') {
      // closes every view: nothing else to check
    } else if (args.response_action !== undefined) {
      check.problem('response_action', `is ${JSON.stringify(args.response_action)}, not one Slack knows`);
    } else check.message(args);
  }
  return check.problems;
}

/** Every limit broken in this test file so far, with the call it was in. */
export const slackLimitViolations: string[] = [];

/** Checks one payload the bot sent to Slack; records what breaks a limit for the check after the file. */
export function recordSlackPayload(method: string, args: Record<string, unknown>): void {
  for (const problem of slackPayloadProblems(method, args)) slackLimitViolations.push(problem);
}

/** Checks the body of the bot's answer to a Slack request (an ack), when it has one. */
export function recordSlackAnswer(body: string | undefined): void {
  if (!body) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return; // a plain-text answer (e.g. 401 for a bad signature) is not a Slack payload
  }
  if (isObject(parsed)) recordSlackPayload('ack', parsed);
}

/** The check after a file: throws, naming each payload that broke a Slack limit. */
export function assertWithinSlackLimits(): void {
  const found = slackLimitViolations.splice(0);
  if (found.length > 0)
    throw new Error(`Slack limit check failed (${found.length}):\n  - ${[...new Set(found)].join('\n  - ')}`);
}
