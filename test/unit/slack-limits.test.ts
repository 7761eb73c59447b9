import { describe, expect, it } from 'vitest';
import { assertWithinSlackLimits, recordSlackPayload, slackPayloadProblems } from '../support/slack-limits.js';

const plain = (text: string) => ({ type: 'plain_text', text });
const mrkdwn = (text: string) => ({ type: 'mrkdwn', text });
const section = (text: string) => ({ type: 'section', text: mrkdwn(text) });
const x = (n: number) => 'x'.repeat(n);
const option = (text: string, value: string) => ({ text: plain(text), value });
const options = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => option(`group ${from + i}`, `g${from + i}`));

/** A message with these blocks, posted to a channel. */
const message = (...blocks: unknown[]) => ({ channel: 'C0APPROVALS', text: 'fallback', blocks });
const post = (...blocks: unknown[]) => slackPayloadProblems('chat.postMessage', message(...blocks));
/** A modal holding these blocks, with everything else valid. */
const modal = (overrides: Record<string, unknown> = {}) => ({
  type: 'modal',
  callback_id: 'create_user_modal',
  title: plain('New IAM user'),
  submit: plain('Request'),
  close: plain('Cancel'),
  blocks: [section('hello')],
  ...overrides,
});
const open = (view: unknown) => slackPayloadProblems('views.open', { trigger_id: '1.2.trigger', view });
const input = (element: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: 'input',
  block_id: 'b',
  label: plain('Label'),
  element: { action_id: 'value', ...element },
  ...extra,
});
const select = (el: Record<string, unknown>) =>
  open(modal({ blocks: [input({ type: 'multi_static_select', placeholder: plain('Pick'), ...el })] }));
const button = (el: Record<string, unknown>) =>
  post({ type: 'actions', elements: [{ type: 'button', action_id: 'a', text: plain('Go'), ...el }] });

describe('the Slack-limit check', () => {
  it('accepts a message, a modal and a home tab that keep within every limit', () => {
    expect(post(section(x(3000)), { type: 'context', elements: [mrkdwn('small print')] })).toEqual([]);
    expect(
      open(
        modal({
          blocks: [
            input({ type: 'plain_text_input', max_length: 3000, initial_value: x(3000) }, { hint: plain(x(2000)) }),
            input(
              { type: 'multi_static_select', options: options(100), initial_options: [option('group 3', 'g3')] },
              { block_id: 'c' },
            ),
          ],
        }),
      ),
    ).toEqual([]);
    expect(
      slackPayloadProblems('views.publish', { user_id: 'U1', view: { type: 'home', blocks: [section('hi')] } }),
    ).toEqual([]);
  });

  it('rejects a message of more than 50 blocks, and a view of more than 100', () => {
    const blocks = Array.from({ length: 51 }, () => section('a'));
    const viewBlocks = Array.from({ length: 101 }, () => section('a'));

    expect(post(...blocks)).toEqual(["chat.postMessage: blocks has 51 items, more than Slack's limit of 50"]);
    expect(open(modal({ blocks: viewBlocks }))).toEqual([
      "views.open: view.blocks has 101 items, more than Slack's limit of 100",
    ]);
    expect(
      slackPayloadProblems('views.publish', { user_id: 'U1', view: { type: 'home', blocks: viewBlocks } }),
    ).toHaveLength(1);
  });

  it('rejects section text over 3,000 characters, more than 10 fields and a field over 2,000', () => {
    expect(post(section(x(3001)))).toEqual([
      "chat.postMessage: blocks[0].text.text has 3001 characters, more than Slack's limit of 3000",
    ]);
    expect(post({ type: 'section', fields: Array.from({ length: 11 }, () => mrkdwn('f')) })).toEqual([
      "chat.postMessage: blocks[0].fields has 11 items, more than Slack's limit of 10",
    ]);
    expect(post({ type: 'section', fields: [mrkdwn(x(2001))] })).toEqual([
      "chat.postMessage: blocks[0].fields[0].text has 2001 characters, more than Slack's limit of 2000",
    ]);
  });

  it('counts characters, not UTF-16 units: 3,000 emoji fit in a section', () => {
    expect(post(section('🔑'.repeat(3000)))).toEqual([]);
    expect(post(section('🔑'.repeat(3001)))).toHaveLength(1);
  });

  it('rejects a header over 150 characters, a context of 11 elements and actions of 26', () => {
    expect(post({ type: 'header', text: plain(x(151)) })).toEqual([
      "chat.postMessage: blocks[0].text.text has 151 characters, more than Slack's limit of 150",
    ]);
    expect(post({ type: 'context', elements: Array.from({ length: 11 }, () => mrkdwn('c')) })).toEqual([
      "chat.postMessage: blocks[0].elements has 11 items, more than Slack's limit of 10",
    ]);
    const buttons = Array.from({ length: 26 }, (_, i) => ({ type: 'button', action_id: `b${i}`, text: plain('B') }));
    expect(post({ type: 'actions', elements: buttons })).toEqual([
      "chat.postMessage: blocks[0].elements has 26 items, more than Slack's limit of 25",
    ]);
  });

  it('rejects button text over 75, a value over 2,000 and a url over 3,000 characters', () => {
    expect(button({ text: plain(x(76)) })).toEqual([
      "chat.postMessage: blocks[0].elements[0].text.text has 76 characters, more than Slack's limit of 75",
    ]);
    expect(button({ value: x(2001) })).toEqual([
      "chat.postMessage: blocks[0].elements[0].value has 2001 characters, more than Slack's limit of 2000",
    ]);
    expect(button({ url: `https://example.com/${x(2981)}` })).toEqual([
      "chat.postMessage: blocks[0].elements[0].url has 3001 characters, more than Slack's limit of 3000",
    ]);
  });

  it('rejects action and block ids over 255 characters, and a block id used twice in one payload', () => {
    expect(button({ action_id: x(256) })).toEqual([
      "chat.postMessage: blocks[0].elements[0].action_id has 256 characters, more than Slack's limit of 255",
    ]);
    expect(post({ ...section('a'), block_id: x(256) })).toEqual([
      "chat.postMessage: blocks[0].block_id has 256 characters, more than Slack's limit of 255",
    ]);
    expect(post({ ...section('a'), block_id: 'same' }, { ...section('b'), block_id: 'same' })).toEqual([
      'chat.postMessage: blocks[1].block_id repeats same: block ids must be unique in a payload',
    ]);
  });

  it('rejects a select of 101 options, 101 option groups, or a group of 101 options', () => {
    expect(select({ options: options(101) })).toEqual([
      "views.open: view.blocks[0].element.options has 101 items, more than Slack's limit of 100",
    ]);
    const group = (n: number, i = 0) => ({ label: plain(`Part ${i}`), options: options(n, i * 1000) });
    expect(select({ option_groups: Array.from({ length: 101 }, (_, i) => group(1, i)) })).toEqual([
      "views.open: view.blocks[0].element.option_groups has 101 items, more than Slack's limit of 100",
    ]);
    expect(select({ option_groups: [group(101)] })).toEqual([
      "views.open: view.blocks[0].element.option_groups[0].options has 101 items, more than Slack's limit of 100",
    ]);
    expect(select({ option_groups: [group(100)] })).toEqual([]);
  });

  it('rejects option text over 75, an option value over 150 and a placeholder over 150 characters', () => {
    expect(select({ options: [option(x(76), 'v')] })).toEqual([
      "views.open: view.blocks[0].element.options[0].text.text has 76 characters, more than Slack's limit of 75",
    ]);
    expect(select({ options: [option('t', x(151))] })).toEqual([
      "views.open: view.blocks[0].element.options[0].value has 151 characters, more than Slack's limit of 150",
    ]);
    expect(select({ options: options(1), placeholder: plain(x(151)) })).toEqual([
      "views.open: view.blocks[0].element.placeholder.text has 151 characters, more than Slack's limit of 150",
    ]);
  });

  it('rejects an initial option that is not one of the options', () => {
    expect(select({ options: options(2), initial_options: [option('group 9', 'g9')] })).toEqual([
      'views.open: view.blocks[0].element.initial_options[0] is not one of the options',
    ]);
  });

  it('rejects a modal title, submit or close over 24 characters', () => {
    expect(open(modal({ title: plain(x(25)), submit: plain(x(25)), close: plain(x(25)) }))).toEqual([
      "views.open: view.title.text has 25 characters, more than Slack's limit of 24",
      "views.open: view.close.text has 25 characters, more than Slack's limit of 24",
      "views.open: view.submit.text has 25 characters, more than Slack's limit of 24",
    ]);
  });

  it('rejects private_metadata over 3,000 characters and a callback_id over 255', () => {
    expect(open(modal({ private_metadata: x(3001), callback_id: x(256) }))).toEqual([
      "views.open: view.private_metadata has 3001 characters, more than Slack's limit of 3000",
      "views.open: view.callback_id has 256 characters, more than Slack's limit of 255",
    ]);
  });

  it('rejects an input label or hint over 2,000 characters and a text input max_length over 3,000', () => {
    const problems = open(
      modal({
        blocks: [
          {
            ...input({ type: 'plain_text_input', max_length: 3001 }),
            label: plain(x(2001)),
            hint: plain(x(2001)),
          },
        ],
      }),
    );

    expect(problems).toEqual([
      "views.open: view.blocks[0].label.text has 2001 characters, more than Slack's limit of 2000",
      "views.open: view.blocks[0].hint.text has 2001 characters, more than Slack's limit of 2000",
      "views.open: view.blocks[0].element.max_length is 3001, Slack's limit is 1 to 3000",
    ]);
  });

  it('rejects a message text over 40,000 characters', () => {
    expect(slackPayloadProblems('chat.postMessage', { channel: 'C1', text: x(40_001) })).toEqual([
      "chat.postMessage: text has 40001 characters, more than Slack's limit of 40000",
    ]);
  });

  it('rejects what lacks a required field: a message with neither text nor blocks, a modal without title, a text object without type', () => {
    expect(slackPayloadProblems('chat.postMessage', { channel: 'C1' })).toEqual([
      'chat.postMessage: (payload) needs text or blocks',
    ]);
    expect(slackPayloadProblems('response_url', { response_type: 'ephemeral' })).toEqual([
      'response_url: (payload) needs text or blocks',
    ]);
    expect(open(modal({ title: undefined }))).toEqual(['views.open: view.title is required']);
    expect(post({ type: 'section', text: { text: 'no type' } })).toEqual([
      'chat.postMessage: blocks[0].text.type must be plain_text or mrkdwn (got undefined)',
    ]);
    expect(post({ type: 'header', text: mrkdwn('bold') })).toEqual([
      'chat.postMessage: blocks[0].text.type must be plain_text (got "mrkdwn")',
    ]);
    expect(open(modal({ submit: undefined, blocks: [input({ type: 'plain_text_input' })] }))).toEqual([
      'views.open: view.submit is required',
    ]);
    expect(post({ type: 'section', text: mrkdwn('') })).toEqual([
      'chat.postMessage: blocks[0].text.text is empty (at least 1 character)',
    ]);
  });

  it('checks the view in an ack that updates the form, and the errors of an ack that reports them', () => {
    expect(slackPayloadProblems('ack', { response_action: 'update', view: modal({ title: plain(x(25)) }) })).toEqual([
      "ack: view.title.text has 25 characters, more than Slack's limit of 24",
    ]);
    expect(slackPayloadProblems('ack', { response_action: 'errors', errors: {} })).toEqual([
      'ack: errors must map block ids to messages',
    ]);
    expect(slackPayloadProblems('ack', { response_type: 'ephemeral', text: 'ok' })).toEqual([]);
  });

  it('reports a block type it does not know, so that a builder using a new one adds its limits here', () => {
    expect(post({ type: 'video' })).toEqual([
      'chat.postMessage: blocks[0].type is "video", a block this check does not know (on a message)',
    ]);
  });

  it('fails the file after it, naming the method, the path and the limit, once per broken limit', () => {
    recordSlackPayload('chat.update', { channel: 'C1', ts: '1.2', text: 'x', blocks: [section(x(3001))] });

    expect(() => assertWithinSlackLimits()).toThrow(
      "Slack limit check failed (1):\n  - chat.update: blocks[0].text.text has 3001 characters, more than Slack's limit of 3000",
    );
    expect(() => assertWithinSlackLimits()).not.toThrow();
  });
});
