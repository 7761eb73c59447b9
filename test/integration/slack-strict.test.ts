/**
 * What the bot does when Slack answers as it really does (issue 19), on the strict stand-in (src/local/fake-slack.ts):
 * a member's profile never reaches the logs, a request Slack failed to post for a passing reason is retried rather
 * than ended, a response_url Slack refused is a failure its caller sees, and a DM Slack will never take (a member
 * who left) is not tried again at every sweep.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOUR } from '../../src/clock.js';
import { deliverCredentials } from '../../src/services/credentials.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { changeRequestFor, existingUser } from '../support/changes.js';
import { APPROVALS, requestFor, requestUser, submitForm, validForm } from '../support/create-user.js';
import { createUserWithCredentials, deliveryOf } from '../support/credentials.js';

let bot: TestBot;
const captured = () => (globalThis as { __capturedOutput?: string[] }).__capturedOutput ?? [];

beforeAll(async () => {
  bot = await startTestBot({ failedJobsQueue: true });
});
afterAll(async () => {
  await bot.stop();
});

let eventSeq = 0;
/** Slack's `user_change`: the member's whole profile, on any change of it (here a new status). */
function userChangeBody(user: Record<string, unknown>): string {
  return JSON.stringify({
    type: 'event_callback',
    team_id: 'T0TEAM',
    api_app_id: 'A0APP',
    token: 'legacy-verification-token',
    event_id: `Ev0PROFILE${++eventSeq}`,
    event_time: Math.floor(Date.now() / 1000),
    event: { type: 'user_change', user, cache_ts: Math.floor(Date.now() / 1000), event_ts: `${Date.now() / 1000}` },
  });
}

describe('a member’s profile', () => {
  it('never reaches a log line: on user_change the logs carry the member’s id, not their phone, title or e-mail', async () => {
    // Prepare: a member whose profile holds personal data, as Slack's users.info and user_change carry it
    const profile = {
      title: 'Head of Quiet Espionage',
      phone: '+44 7700 900461',
      email: 'wilhelmina.quayle@example.org',
      real_name: 'Wilhelmina Quayle',
      status_text: 'On a train',
    };
    bot.slack.members.add({ id: 'U0PROFILED', name: 'wquayle', profile });
    const user = { id: 'U0PROFILED', team_id: 'T0TEAM', name: 'wquayle', deleted: false, is_bot: false, profile };
    const from = captured().length;

    // Act: a status change, then a deactivation (which the worker checks with users.info)
    const changed = await bot.send(userChangeBody(user), { contentType: 'application/json' });
    const left = await bot.send(userChangeBody({ ...user, deleted: true }), { contentType: 'application/json' });
    await bot.drain();

    // Assess: every line logged meanwhile, the Slack function's and the worker's
    const lines = captured().slice(from).join('');
    const handled = lines
      .split('\n')
      .filter((l) => l.includes('"message":"Slack request handled"') && l.includes('event:user_change'));
    expect([changed.statusCode, left.statusCode]).toEqual([200, 200]);
    expect(handled.length).toBeGreaterThanOrEqual(2);
    expect(handled.every((l) => l.includes('"slackUser":"U0PROFILED"'))).toBe(true);
    for (const value of [profile.title, profile.phone, profile.email, profile.real_name, profile.status_text])
      expect(lines).not.toContain(value);
  });
});

describe('a request Slack failed to post', () => {
  it.each([
    ['fatal_error (ok: false)', () => bot.slack.failNext('chat.postMessage', 'fatal_error')],
    [
      'HTTP 503 past the client’s retries',
      () => bot.slack.failNext('chat.postMessage', 'service_unavailable', { times: 3, status: 503 }),
    ],
  ])('stays pending with its name reserved after %s, and the retried job posts it', async (label, fail) => {
    // Prepare: Slack fails the first post of the approval message (the client's own retries included)
    const name = `retried-${label.slice(0, 5).replace(/\W/g, '')}`;
    fail();

    // Act: the form submitted; the worker's job fails, then Lambda's retry runs it again
    const request = await requestUser(bot, name);
    const again = await submitForm(bot, validForm(name), 'U0ALICE');
    await bot.drain();

    // Assess: posted once, pending, and the name still taken
    const posts = bot.slack
      .callsOf('chat.postMessage')
      .filter((c) => c.args.channel === APPROVALS && JSON.stringify(c.args).includes(request.id));
    expect(request.status).toBe('pending');
    expect(request.message?.channel).toBe(APPROVALS);
    expect(posts.filter((c) => c.answer?.ok === true)).toHaveLength(1);
    expect(JSON.stringify(JSON.parse(again.body ?? '{}'))).toContain(request.id);
  });

  it('ends when Slack says the bot cannot post in the channel (not_in_channel), giving the name back', async () => {
    bot.slack.failNext('chat.postMessage', 'not_in_channel');

    await submitForm(bot, validForm('lonely-strict'));
    await bot.drain();

    const request = await requestFor(bot, 'lonely-strict');
    expect(request.status).toBe('expired');
    expect(request.decision?.reason).toBe('not posted (not_in_channel)');
  });
});

describe('a response_url post Slack refuses', () => {
  it('is a failure its caller sees, when Slack answers ok: false with HTTP 200', async () => {
    bot.slack.answers.set('response_url', () => ({ ok: false, error: 'invalid_blocks' }));
    try {
      const url = bot.slack.responseUrl('refused-1', 'command');

      await expect(bot.deps.messenger.respond(url, { text: 'hello' })).rejects.toMatchObject({
        data: { error: 'invalid_blocks' },
      });
    } finally {
      bot.slack.answers.delete('response_url');
    }
  });

  it('is a failure naming used_url after five posts, as Slack answers', async () => {
    const url = bot.slack.responseUrl('refused-2', 'command');
    for (let i = 1; i <= 5; i++) await bot.deps.messenger.respond(url, { text: `answer ${i}` });

    await expect(bot.deps.messenger.respond(url, { text: 'a sixth' })).rejects.toMatchObject({
      status: 404,
      data: { error: 'used_url' },
    });
  });
});

describe('a link that expires after its requester left Slack', () => {
  it('tells the recipient once, not again at every sweep, though Slack refuses the DM to the requester for good', async () => {
    // Prepare: a link requested by a member who is deactivated before it expires (Slack refuses DMs to them)
    const bundle = await createUserWithCredentials(bot);
    bot.slack.members.add('U0LEFTREQ');
    await bot.as('worker', () => deliverCredentials(bot.deps, deliveryOf(bundle, { requesterSlackId: 'U0LEFTREQ' })));
    bot.slack.members.deactivate('U0LEFTREQ');
    const expiredNotices = () =>
      bot.slack
        .callsOf('chat.postMessage')
        .filter((c) => c.args.channel === 'U0RECIPIENT' && String(c.args.text).includes('expired unopened'));
    const before = expiredNotices().length;

    // Act: the link expires; the sweep runs three times, fifteen minutes apart
    bot.clock.advance(24 * HOUR + 1);
    for (let run = 0; run < 3; run++) {
      await bot.schedule();
      await bot.drain(); // the projection refresh parts it hands the worker
      bot.clock.advance(15 * 60_000);
    }

    // Assess: the recipient was told once; the requester's DM was refused, and the link is done with
    const refused = bot.slack.callsOf('chat.postMessage').filter((c) => c.args.channel === 'U0LEFTREQ');
    const link = (await bot.deps.store.links.model.scan().exec()).find((l) => l.requester === 'U0LEFTREQ');
    expect(expiredNotices().length - before).toBe(1);
    expect(refused.map((c) => c.answer?.error)).toEqual(['channel_not_found']);
    expect(link?.expiryNotifiedAt).toBeDefined();
  });
});

describe('an approver in the policy who left Slack', () => {
  it('does not make the App Home refresh of a new request fail into the failed-jobs queue; the others’ tabs are published', async () => {
    // Prepare: one approver of the policy deactivated in Slack; nothing waiting in the failed-jobs queue
    await bot.drain();
    await bot.deliverFailedJobs();
    bot.slack.members.deactivate('U0APPROVER3');
    const homesBefore = bot.slack.callsOf('views.publish').length;
    try {
      // Act: a new request, whose posting refreshes every approver's App Home
      await requestUser(bot, 'homes-after-leaver');

      // Assess: nothing failed; the approvers still in Slack got their tab
      const published = bot.slack
        .callsOf('views.publish')
        .slice(homesBefore)
        .filter((c) => c.answer?.ok === true)
        .map((c) => c.args.user_id);
      expect(await bot.deliverFailedJobs()).toBe(0);
      expect(published).toEqual(expect.arrayContaining(['U0APPROVER1', 'U0APPROVER2']));
    } finally {
      bot.slack.members.reactivate('U0APPROVER3');
    }
  });
});

describe('the recipient of a new IAM user', () => {
  it.each([
    ['a bot', 'U0SOMEBOT', 'is a bot'],
    ['a deactivated member', 'U0DEPARTED', 'is deactivated in Slack'],
    ['an id Slack does not know', 'U0NOSUCHONE', 'is not a member of this workspace'],
  ])(
    'is refused when %s, before the approvers are asked, and the requester is told why',
    async (_label, recipient, why) => {
      // Prepare: the workspace as Slack knows it
      bot.slack.members.add({ id: 'U0SOMEBOT', isBot: true }).deactivate('U0DEPARTED');
      const name = `for-${recipient.slice(3).toLowerCase()}`;
      const approvalPosts = () =>
        bot.slack
          .callsOf('chat.postMessage')
          .filter((c) => c.args.channel === APPROVALS && JSON.stringify(c.args).includes(name));

      // Act: the form submitted for them
      await submitForm(bot, validForm(name, { recipient }));
      await bot.drain();

      // Assess: ended before any approver saw it, the requester told why
      const request = await requestFor(bot, name);
      const told = bot.slack.callsOf('chat.postMessage').filter((c) => c.args.channel === 'U0REQUESTER');
      expect(request.status).toBe('expired');
      expect(approvalPosts()).toHaveLength(0);
      expect(String(told.at(-1)?.args.text)).toContain(why);
      // the form has no response_url: the DM is its one answer, and no "waiting" DM came before it
      expect(told.filter((c) => String(c.args.text).includes(`for IAM user ${name} is waiting`))).toHaveLength(0);
    },
  );
});

describe('a change request’s new owner', () => {
  it.each([
    ['a bot', 'U0OWNERBOT', 'is a bot'],
    ['a deactivated member', 'U0OWNERLEFT', 'is deactivated in Slack'],
    ['an id Slack does not know', 'U0NOSUCHOWNER', 'is not a member of this workspace'],
  ])(
    'is refused when %s, before the approvers are asked, and the requester is told why',
    async (_label, newOwner, why) => {
      // Prepare: the workspace as Slack knows it, and an IAM user its owner hands over
      bot.slack.members.add({ id: 'U0OWNERBOT', isBot: true }).add('U0OWNERLEFT').deactivate('U0OWNERLEFT');
      const name = `handed-${newOwner.slice(3).toLowerCase()}`;
      await existingUser(bot, name, { owner: 'U0OWNER' });
      const approvalPosts = () =>
        bot.slack
          .callsOf('chat.postMessage')
          .filter((c) => c.args.channel === APPROVALS && JSON.stringify(c.args).includes(name));

      // Act: the owner asks to give it to them
      const { responseId } = await bot.command(`set-owner ${name} <@${newOwner}> --reason "Moving teams"`, 'U0OWNER');
      await bot.drain();

      // Assess: ended before any approver saw it, the requester told why through the command's response_url
      const request = await changeRequestFor(bot, name);
      expect(request.status).toBe('expired');
      expect(request.decision?.reason).toContain('new owner');
      expect(approvalPosts()).toHaveLength(0);
      expect(bot.slack.shown(responseId).at(-1)?.text).toContain(why);
      expect(bot.slack.shown(responseId).at(-1)?.text).toContain('only a person in the workspace can own an IAM user');
    },
  );

  it('is asked for approval when a person in the workspace', async () => {
    // Prepare
    const name = 'handed-to-alice';
    await existingUser(bot, name, { owner: 'U0OWNER' });

    // Act
    await bot.command(`set-owner ${name} <@U0ALICE> --reason "Moving teams"`, 'U0OWNER');
    await bot.drain();

    // Assess
    const request = await changeRequestFor(bot, name);
    expect(request.status).toBe('pending');
    expect(request.message?.channel).toBe(APPROVALS);
  });
});

describe('a change request’s recipient, the owner of the IAM user', () => {
  it('holds up more access when the owner is deactivated: refused before the approvers are asked', async () => {
    // Prepare: a user whose owner left
    bot.slack.members.deactivate('U0OWNERGONE');
    const name = 'orphan-more-access';
    await existingUser(bot, name, { owner: 'U0OWNERGONE' });

    // Act
    const { responseId } = await bot.command(`add-to-group ${name} ci-deployers --reason "CI"`, 'U0REQUESTER');
    await bot.drain();

    // Assess
    const request = await changeRequestFor(bot, name);
    expect(request.status).toBe('expired');
    expect(request.message).toBeUndefined();
    expect(bot.slack.shown(responseId).at(-1)?.text).toContain('<@U0OWNERGONE> is deactivated in Slack');
    expect(bot.slack.shown(responseId).at(-1)?.text).toContain('/iam set-owner');
  });

  it('never holds up a removal: the approvers are asked though the owner is deactivated', async () => {
    // Prepare
    bot.slack.members.deactivate('U0OWNERGONE2');
    const name = 'orphan-less-access';
    await existingUser(bot, name, { owner: 'U0OWNERGONE2', groups: ['ci-deployers'] });

    // Act
    await bot.command(`remove-from-group ${name} ci-deployers --reason "No more CI"`, 'U0REQUESTER');
    await bot.drain();

    // Assess
    const request = await changeRequestFor(bot, name);
    expect(request.status).toBe('pending');
    expect(request.message?.channel).toBe(APPROVALS);
  });
});

/**
 * A slash command's response_url adds a message for every post, replace_original or not (bolt-js#2287): what its
 * ack said stays above whatever the worker posts later. A request's command therefore shows one answer, the final one.
 */
describe('what the requester sees under a request’s command', () => {
  const waiting = (text = '') => text.includes('waiting for approval');

  it('is one answer for an inline create-user refused for its recipient (a bot): the refusal, no "waiting" above it', async () => {
    // Prepare
    bot.slack.members.add({ id: 'U0INLINEBOT', isBot: true });

    // Act
    const { responseId } = await bot.command(
      'create-user shown-for-bot --for <@U0INLINEBOT> --groups ci-deployers --keys --reason "CI"',
    );
    await bot.drain();

    // Assess
    const shown = bot.slack.shown(responseId);
    expect(shown).toHaveLength(1);
    expect(shown[0]?.text).toContain('<@U0INLINEBOT> is a bot');
    expect(waiting(shown[0]?.text)).toBe(false);
    expect((await requestFor(bot, 'shown-for-bot')).status).toBe('expired');
  });

  it('is one answer for an inline create-user posted for approval: "waiting for approval", after the post', async () => {
    // Act
    const { responseId } = await bot.command('create-user shown-posted --groups ci-deployers --keys --reason "CI"');
    const beforeWorker = bot.slack.shown(responseId);
    await bot.drain();

    // Assess: nothing said before the request was in the channel, then its one answer
    const request = await requestFor(bot, 'shown-posted');
    const shown = bot.slack.shown(responseId);
    expect(beforeWorker).toHaveLength(0);
    expect(request.message?.channel).toBe(APPROVALS);
    expect(shown).toHaveLength(1);
    expect(shown[0]?.text).toContain(
      `Your request \`${request.id}\` for IAM user \`shown-posted\` is waiting for approval`,
    );
  });

  it('is one answer for a set-owner to a bot: the refusal, no "waiting" above it', async () => {
    // Prepare
    bot.slack.members.add({ id: 'U0SHOWNBOT', isBot: true });
    await existingUser(bot, 'shown-handed', { owner: 'U0OWNER' });

    // Act
    const { responseId } = await bot.command('set-owner shown-handed <@U0SHOWNBOT> --reason "Moving teams"', 'U0OWNER');
    await bot.drain();

    // Assess
    const shown = bot.slack.shown(responseId);
    expect(shown).toHaveLength(1);
    expect(shown[0]?.text).toContain('<@U0SHOWNBOT> is a bot');
    expect(waiting(shown[0]?.text)).toBe(false);
  });

  it('is one answer for an add-to-group posted for approval: "waiting for approval"', async () => {
    // Prepare
    await existingUser(bot, 'shown-more-access', { owner: 'U0OWNER' });

    // Act
    const { responseId } = await bot.command('add-to-group shown-more-access ci-deployers --reason "CI"');
    await bot.drain();

    // Assess
    const request = await changeRequestFor(bot, 'shown-more-access');
    const shown = bot.slack.shown(responseId);
    expect(request.message?.channel).toBe(APPROVALS);
    expect(shown).toHaveLength(1);
    expect(shown[0]?.text).toContain(`Your request \`${request.id}\` to add IAM user \`shown-more-access\``);
    expect(waiting(shown[0]?.text)).toBe(true);
  });

  it('is one answer for an offboard the bot cannot post (not in the channel): the refusal, no "waiting" above it', async () => {
    // Prepare: someone owning an IAM user, in the projection; the bot removed from the approval channel
    await existingUser(bot, 'shown-lastday', { owner: 'U0SHOWNLASTDAY' });
    await bot.schedule();
    await bot.drain(); // the projection refresh parts it hands the worker
    bot.slack.failNext('chat.postMessage', 'not_in_channel');

    // Act
    const { responseId } = await bot.command('offboard <@U0SHOWNLASTDAY|lastday> --reason "Last day"', 'U0APPROVER1');
    await bot.drain();

    // Assess
    const shown = bot.slack.shown(responseId);
    expect(shown).toHaveLength(1);
    expect(shown[0]?.text).toContain('I could not post your request');
    expect(shown[0]?.text).toContain('not_in_channel');
    expect(waiting(shown[0]?.text)).toBe(false);
  });

  it('is one answer for an offboard posted for approval: "waiting for approval"', async () => {
    // Prepare
    await existingUser(bot, 'shown-lastday-2', { owner: 'U0SHOWNLASTDAY2' });
    await bot.schedule();
    await bot.drain(); // the projection refresh parts it hands the worker

    // Act
    const { responseId } = await bot.command('offboard <@U0SHOWNLASTDAY2|lastday> --reason "Last day"', 'U0APPROVER1');
    await bot.drain();

    // Assess
    const shown = bot.slack.shown(responseId);
    expect(shown).toHaveLength(1);
    expect(shown[0]?.text).toMatch(/Your request `req-\w+` to offboard <@U0SHOWNLASTDAY2> is waiting for approval/);
  });
});
