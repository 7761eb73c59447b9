/**
 * The Slack stand-in (src/local/fake-slack.ts) answers as strictly as Slack: members it was not told about do not
 * exist, each method keeps to its rate-limit tier, a response_url takes five posts in thirty minutes and replaces a
 * message only for an interactive one, and views over 250 KB are refused. Driven over HTTP as the bot drives it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeSlack, RESPONSE_URL_LIFE_MS, VIEW_MAX_BYTES } from '../../src/local/fake-slack.js';

let slack: FakeSlack | undefined;
let now = 1_000_000;
let rateNow = 1_000_000;

async function start(): Promise<FakeSlack> {
  now = 1_000_000;
  rateNow = 1_000_000;
  slack = await new FakeSlack({ now: () => now, rateNow: () => rateNow }).start();
  return slack;
}
afterEach(async () => {
  await slack?.stop();
  slack = undefined;
});

async function call(method: string, args: Record<string, unknown>) {
  const res = await fetch(`${slack?.url}${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(args),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as never };
}

async function respond(url: string, args: Record<string, unknown>) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(args),
  });
  return { status: res.status, body: (await res.json()) as { ok: boolean; error?: string } };
}

describe('users.info', () => {
  it('answers user_not_found for an id it was not told about, and what it knows of each member it was', async () => {
    const s = await start();
    s.members.add(
      'U0PLAIN',
      { id: 'U0GONE', deleted: true },
      { id: 'U0OTHERBOT', isBot: true },
      { id: 'U0SINGLE', guest: 'single' },
      { id: 'U0MULTI', guest: 'multi' },
      { id: 'U0CONNECT', otherOrg: true },
    );

    const user = async (id: string) => ((await call('users.info', { user: id })).body as { user: never }).user;

    expect((await call('users.info', { user: 'U0TYPO' })).body).toEqual({ ok: false, error: 'user_not_found' });
    expect(await user('U0PLAIN')).toMatchObject({ deleted: false, is_bot: false, is_restricted: false });
    expect(await user('U0GONE')).toMatchObject({ deleted: true });
    expect(await user('U0OTHERBOT')).toMatchObject({ is_bot: true });
    expect(await user('U0SINGLE')).toMatchObject({ is_restricted: true, is_ultra_restricted: true });
    expect(await user('U0MULTI')).toMatchObject({ is_restricted: true, is_ultra_restricted: false });
    expect(await user('U0CONNECT')).toMatchObject({ team_id: 'T0OTHERORG', is_stranger: true });
  });

  it('fails on demand for one member until recovered, and forgets a member removed', async () => {
    const s = await start();
    s.members.add('U0FLAKY', 'U0LEAVING').failWith('U0FLAKY', 'fatal_error');

    const during = (await call('users.info', { user: 'U0FLAKY' })).body;
    s.members.recover('U0FLAKY').remove('U0LEAVING');

    expect(during).toEqual({ ok: false, error: 'fatal_error' });
    expect((await call('users.info', { user: 'U0FLAKY' })).body).toMatchObject({ ok: true });
    expect((await call('users.info', { user: 'U0LEAVING' })).body).toMatchObject({ error: 'user_not_found' });
  });
});

describe('rate limits', () => {
  it('answer 429 with Retry-After past a tier-2 method’s burst of 20, and let calls through as time passes', async () => {
    const s = await start();
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) statuses.push((await call('usergroups.users.list', { usergroup: 'S0X' })).status);
    const limited = await call('usergroups.users.list', { usergroup: 'S0X' });
    rateNow += 3_000; // one call every 3 s at 20 a minute

    expect(statuses.slice(0, 20).every((st) => st === 200)).toBe(true);
    expect(statuses[20]).toBe(429);
    expect(limited.retryAfter).toBe('3');
    expect((await call('usergroups.users.list', { usergroup: 'S0X' })).status).toBe(200);
    expect(s.limits.limited.get('usergroups.users.list')).toBe(2);
  });

  it('hold chat.postMessage to one channel to one a second after its burst, each channel on its own', async () => {
    const s = await start();
    const post = async (channel: string) => (await call('chat.postMessage', { channel, text: 'x' })).status;
    const burst: number[] = [];
    for (let i = 0; i < s.limits.postBurst; i++) burst.push(await post('C0BUSY'));

    const over = await post('C0BUSY');
    const elsewhere = await post('C0QUIET');
    rateNow += 1_000;

    expect(burst.every((st) => st === 200)).toBe(true);
    expect(over).toBe(429);
    expect(elsewhere).toBe(200);
    expect(await post('C0BUSY')).toBe(200);
  });
});

describe('response_url', () => {
  it('takes five posts, then answers 404 used_url; past thirty minutes 404 expired_url', async () => {
    const s = await start();
    const url = s.responseUrl('r1', 'command');
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await respond(url, { text: `n${i}` })).status);
    const sixth = await respond(url, { text: 'n5' });
    const late = s.responseUrl('r2', 'command');
    now += RESPONSE_URL_LIFE_MS + 1;

    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    expect(sixth).toEqual({ status: 404, body: { ok: false, error: 'used_url' } });
    expect(await respond(late, { text: 'too late' })).toEqual({
      status: 404,
      body: { ok: false, error: 'expired_url' },
    });
  });

  it('adds a message for a slash command even with replace_original, and replaces the clicked message of an interactive one', async () => {
    const s = await start();
    const command = s.responseUrl('cmd', 'command');
    s.acked('cmd', { text: 'Checking…' });
    const click = s.responseUrl('click', 'interaction', { text: 'Approve?', blocks: [] });

    await respond(command, { text: 'Done', replace_original: true });
    await respond(click, { text: 'Approved', replace_original: true });

    expect(s.shown('cmd').map((m) => m.text)).toEqual(['Checking…', 'Done']);
    expect(s.shown('click')).toEqual([{ text: 'Approved', blocks: [], edited: true }]);
  });
});

describe('views and failures on demand', () => {
  it('refuses a view over 250 KB, and fails the next calls of a method as told', async () => {
    const s = await start();
    const big = {
      type: 'home',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(VIEW_MAX_BYTES) } }],
    };
    s.failNext('chat.update', 'message_not_found', { times: 2 });

    const refused = (await call('views.publish', { user_id: 'U0A', view: big })).body;
    const failed = [
      await call('chat.update', { channel: 'C0A', ts: '1' }),
      await call('chat.update', { channel: 'C0A', ts: '1' }),
    ];

    expect(refused).toEqual({ ok: false, error: 'view_too_large' });
    expect(failed.map((f) => f.body)).toEqual([
      { ok: false, error: 'message_not_found' },
      { ok: false, error: 'message_not_found' },
    ]);
    expect((await call('chat.update', { channel: 'C0A', ts: '1' })).body).toMatchObject({ ok: true });
  });
});
