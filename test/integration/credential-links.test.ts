import { createHash } from 'node:crypto';
import { GetLoginProfileCommand, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import {
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { HOUR } from '../../src/clock.js';
import { ConflictError, ProvisioningError } from '../../src/errors.js';
import type { HttpResult } from '../../src/http/types.js';
import { secretNameFor } from '../../src/services/credential-secrets.js';
import type { CredentialBundle } from '../../src/services/credential-types.js';
import { deliverCredentials } from '../../src/services/credentials.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import {
  createUserWithCredentials,
  deliveredLink,
  deliveryOf,
  notMeClick,
  requestPage,
} from '../support/credentials.js';

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot();
});
afterAll(async () => {
  await bot.stop();
});

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const secretValue = async (name: string) =>
  (await bot.deps.aws.secrets()).send(new GetSecretValueCommand({ SecretId: name }));
const keyStatus = async (bundle: CredentialBundle) => {
  const out = await bot.deps.aws.account().iam.send(new ListAccessKeysCommand({ UserName: bundle.userName }));
  return out.AccessKeyMetadata?.find((k) => k.AccessKeyId === bundle.accessKey?.accessKeyId)?.Status;
};
// Posts Slack took: the stand-in also records a post it answered 429 (one DM a second per channel), which the client resends.
const dmsTo = (channel: string) => bot.slack.postsTo(channel);

const delivered = (options: { console?: boolean; recipient?: string } = {}) => deliveredLink(bot, options);

describe('delivering credentials', () => {
  it('stores the bundle as a new secret under SECRET_PREFIX, tagged with request, recipient and expiry, and nothing secret outside its value', async () => {
    const { bundle, request, result, link } = await delivered({ console: true });

    const described = await (await bot.deps.aws.secrets()).send(
      new DescribeSecretCommand({ SecretId: link.secretName }),
    );
    const stored = JSON.parse((await secretValue(link.secretName)).SecretString ?? '{}');

    expect(link.secretName).toMatch(/^iam-slack-bot\/links\/test-delivery-\d+\.[0-9a-f]{12}\/1$/);
    expect(link.secretName).toBe(secretNameFor('iam-slack-bot/', request.deliveryKey, 1));
    expect(Object.fromEntries((described.Tags ?? []).map((t) => [t.Key, t.Value]))).toMatchObject({
      'iam-slack-bot:request-id': request.requestId,
      'iam-slack-bot:recipient': 'U0RECIPIENT',
      'iam-slack-bot:expires-at': result.expiresAt.toISOString(),
    });
    const metadata = JSON.stringify({ name: described.Name, description: described.Description, tags: described.Tags });
    expect(metadata).not.toContain(bundle.accessKey?.secretAccessKey);
    expect(metadata).not.toContain(bundle.console?.password);
    expect(stored).toEqual(bundle);
  });

  it('keys the link record by the SHA-256 of a 256-bit token that is stored nowhere', async () => {
    const { token, link, result } = await delivered();

    const everything = JSON.stringify(await bot.deps.store.links.model.scan().exec());

    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(link.id).toBe(sha256(token));
    expect(link.linkId).toBe(result.linkId);
    expect(link.linkId).not.toContain(token);
    expect(everything).not.toContain(token);
  });

  it('DMs the recipient the link, its purpose, who approved it and when it expires, with unfurling off', async () => {
    const { request, result, url } = await delivered();

    const [dm] = dmsTo('U0RECIPIENT').slice(-1);
    const text = JSON.stringify(dm?.args.blocks);

    expect(url).toMatch(new RegExp(`^${bot.deps.config.env.PUBLIC_URL}/credentials/[A-Za-z0-9_-]{43}$`));
    expect(String(dm?.args.unfurl_links)).toBe('false');
    expect(String(dm?.args.unfurl_media)).toBe('false');
    expect(text).toContain(url);
    expect(text).toContain(request.purpose);
    expect(text).toContain('<@U0APPROVER1>');
    expect(text).toContain(`<!date^${result.expiresAt.getTime() / 1000}^`);
    expect(String(dm?.args.text)).not.toContain('/credentials/');
  });

  it('makes the link live for the policy link lifetime', async () => {
    const { result } = await delivered();

    expect(result.expiresAt.getTime() - bot.clock.now().getTime()).toBe(24 * HOUR);
    expect(result.created).toBe(true);
  });

  it('returns the first link when called again with the same delivery key, and stores and sends nothing new', async () => {
    const { request, result } = await delivered();
    const dmsBefore = dmsTo('U0RECIPIENT').length;
    const secretsBefore = (await (await bot.deps.aws.secrets()).send(new ListSecretsCommand({}))).SecretList?.length;

    const again = await bot.as('worker', () => deliverCredentials(bot.deps, request));

    expect(again).toEqual({ ...result, created: false });
    expect(dmsTo('U0RECIPIENT')).toHaveLength(dmsBefore);
    expect((await (await bot.deps.aws.secrets()).send(new ListSecretsCommand({}))).SecretList).toHaveLength(
      secretsBefore ?? 0,
    );
  });

  it('delivers once when two calls with the same delivery key run at the same time', async () => {
    const bundle = await createUserWithCredentials(bot);
    const request = deliveryOf(bundle);
    const dmsBefore = dmsTo('U0RECIPIENT').length;

    const outcomes = await Promise.allSettled([
      bot.as('worker', () => deliverCredentials(bot.deps, request)),
      bot.as('worker', () => deliverCredentials(bot.deps, request)),
    ]);

    const created = outcomes.filter((o) => o.status === 'fulfilled' && o.value.created);
    const others = outcomes.filter((o) => !(o.status === 'fulfilled' && o.value.created));
    expect(created).toHaveLength(1);
    expect(others).toHaveLength(1);
    expect(others[0]?.status === 'rejected' ? others[0].reason : undefined).toSatisfy(
      (reason: unknown) => reason === undefined || reason instanceof ConflictError,
    );
    expect(dmsTo('U0RECIPIENT')).toHaveLength(dmsBefore + 1);
  });

  it('lets a retry take over a delivery whose attempt died half-way, once its lease has run out', async () => {
    const bundle = await createUserWithCredentials(bot);
    const request = deliveryOf(bundle);
    const now = bot.clock.now();
    await bot.deps.store.links.claimDelivery(
      request.deliveryKey,
      { linkId: 'abandoned-attempt', linkHash: sha256('abandoned-attempt'), expiresAt: now.getTime() + 24 * HOUR },
      now,
      2 * 60_000,
    );

    const whileLeased = await bot.as('worker', () => deliverCredentials(bot.deps, request)).catch((e: unknown) => e);
    bot.clock.advance(3 * 60_000);
    const afterLease = await bot.as('worker', () => deliverCredentials(bot.deps, request));

    expect(whileLeased).toBeInstanceOf(ConflictError);
    expect(afterLease.created).toBe(true);
    expect(afterLease.linkId).not.toBe('abandoned-attempt');
  });

  it('leaves nothing behind when the DM cannot be sent, so that a retry delivers', async () => {
    const bundle = await createUserWithCredentials(bot);
    const request = deliveryOf(bundle);
    const secretsBefore =
      (await (await bot.deps.aws.secrets()).send(new ListSecretsCommand({}))).SecretList?.length ?? 0;
    bot.slack.answers.set('chat.postMessage', () => ({ ok: false, error: 'channel_not_found' }));

    const failure = await bot.as('worker', () => deliverCredentials(bot.deps, request)).catch((e: unknown) => e);
    bot.slack.answers.delete('chat.postMessage');
    const secretsAfterFailure = (await (await bot.deps.aws.secrets()).send(new ListSecretsCommand({}))).SecretList
      ?.length;
    const retry = await bot.as('worker', () => deliverCredentials(bot.deps, request));

    expect(failure).toBeInstanceOf(ProvisioningError);
    expect((failure as Error).message).toContain('nothing was sent');
    expect(secretsAfterFailure).toBe(secretsBefore);
    expect(retry.created).toBe(true);
  });

  it('records the delivery in the audit trail', async () => {
    const { result, request } = await delivered();

    const events = await bot.deps.store.audit.list(`link#${result.linkId}`);

    expect(events.map((e) => e.action)).toEqual(['credentials.delivered']);
    expect(events[0]?.detail).toMatchObject({ requestId: request.requestId, recipient: 'U0RECIPIENT' });
  });
});

describe('opening the link page', () => {
  it('shows what is waiting, for whom and until when, with a Reveal button, and leaves the secret alone', async () => {
    const { bundle, request, link, token } = await delivered();

    const page = await requestPage(bot, 'GET', token);

    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(bundle.userName);
    expect(page.body).toContain(request.purpose);
    expect(page.body).toContain('U0RECIPIENT');
    expect(page.body).toMatch(/<form method="post"[^>]*><button type="submit"[^>]*>Reveal credentials<\/button>/);
    expect(page.body).toContain(new Date(link.expiresAt).toISOString());
    expect(page.body).not.toContain(bundle.accessKey?.accessKeyId);
    expect(page.body).not.toContain(bundle.accessKey?.secretAccessKey);
    expect((await secretValue(link.secretName)).SecretString).toContain(bundle.userName);
    expect((await bot.deps.store.links.get(link.id))?.status).toBe('pending');
  });

  it('a link preview (Slackbot-LinkExpanding) and a HEAD leave the link usable', async () => {
    const { bundle, token } = await delivered();
    const secretsCalls = vi.spyOn(await bot.deps.aws.secrets(), 'send');

    const preview = await requestPage(bot, 'GET', token, { userAgent: 'Slackbot-LinkExpanding 1.0' });
    const head = await requestPage(bot, 'HEAD', token);
    const callsBeforeReveal = secretsCalls.mock.calls.length;
    secretsCalls.mockRestore();
    const reveal = await requestPage(bot, 'POST', token);

    expect(callsBeforeReveal).toBe(0);
    expect(preview.statusCode).toBe(200);
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe('');
    expect(reveal.body).toContain(bundle.accessKey?.secretAccessKey);
  });
});

describe('revealing the credentials', () => {
  it('shows the access key once with copy buttons, a ~/.aws/credentials profile and the aws configure steps', async () => {
    const { bundle, token } = await delivered();

    const page = await requestPage(bot, 'POST', token);

    const { accessKeyId, secretAccessKey } = bundle.accessKey ?? { accessKeyId: '?', secretAccessKey: '?' };
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(`data-testid="access-key-id">${accessKeyId}<`);
    expect(page.body).toContain(`data-testid="secret-access-key">${secretAccessKey}<`);
    expect(page.body).toContain(
      `[${bundle.userName}]\naws_access_key_id = ${accessKeyId}\naws_secret_access_key = ${secretAccessKey}`,
    );
    expect(page.body).toContain(`aws configure --profile ${bundle.userName}`);
    expect(page.body).toMatch(/<button type="button" class="copy" data-copy="secret-access-key">Copy<\/button>/);
  });

  it('deletes the secret without recovery and records when the link was opened', async () => {
    const { token, link } = await delivered();
    bot.clock.advance(HOUR);

    await requestPage(bot, 'POST', token);

    await expect(secretValue(link.secretName)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    const listed = await (await bot.deps.aws.secrets()).send(new ListSecretsCommand({ IncludePlannedDeletion: true }));
    expect(listed.SecretList?.map((s) => s.Name)).not.toContain(link.secretName);
    const after = await bot.deps.store.links.get(link.id);
    expect(after?.status).toBe('opened');
    expect(after?.openedAt).toBe(bot.clock.now().getTime());
    expect(after?.openedFromIp).toBe('192.0.2.10');
  });

  it('shows console access: sign-in URL, user name, one-time password and the new-password reminder', async () => {
    const { bundle, token } = await delivered({ console: true });

    const page = await requestPage(bot, 'POST', token);

    expect(page.body).toContain(`data-testid="sign-in-url">${bundle.console?.signInUrl}<`);
    expect(page.body).toContain(`data-testid="console-user-name">${bundle.userName}<`);
    expect(page.body).toContain(`data-testid="password">${bundle.console?.password}<`);
    expect(page.body).toContain('You must choose a new password the first time you sign in');
  });

  it('answers a used link with when it was opened and no secret', async () => {
    const { bundle, token, link } = await delivered();
    await requestPage(bot, 'POST', token);
    const openedAt = (await bot.deps.store.links.get(link.id))?.openedAt ?? 0;

    const again = await requestPage(bot, 'POST', token);
    const view = await requestPage(bot, 'GET', token);

    for (const page of [again, view]) {
      expect(page.statusCode).toBe(410);
      expect(page.body).toContain('This link was already used');
      expect(page.body).toContain(new Date(openedAt).toISOString());
      expect(page.body).not.toContain(bundle.accessKey?.secretAccessKey);
      expect(page.body).not.toContain(bundle.accessKey?.accessKeyId);
    }
  });

  it('gives exactly one of 20 concurrent reveals the credentials; the other 19 say it was already opened', async () => {
    const { bundle, token } = await delivered();

    const pages = await Promise.all(Array.from({ length: 20 }, () => requestPage(bot, 'POST', token)));

    const secret = bundle.accessKey?.secretAccessKey ?? '?';
    expect(pages.filter((p) => p.body?.includes(secret))).toHaveLength(1);
    const others = pages.filter((p) => !p.body?.includes(secret));
    expect(others).toHaveLength(19);
    for (const page of others) {
      expect(page.statusCode).toBe(410);
      expect(page.body).toContain('This link was already used');
    }
  });

  it('says clearly when the secret cannot be read, marks the link failed, audits it and tells the recipient', async () => {
    const { token, link } = await delivered();
    await (await bot.deps.aws.secrets()).send(
      new DeleteSecretCommand({ SecretId: link.secretName, ForceDeleteWithoutRecovery: true }),
    );

    const page = await requestPage(bot, 'POST', token);
    const later = await requestPage(bot, 'GET', token);

    expect(page.body).toContain('The credentials could not be retrieved');
    expect(page.body).toContain('Nothing was revealed, and this link no longer works.');
    expect(page.body).toContain('U0REQUESTER');
    expect(later.body).toContain('The credentials could not be retrieved');
    const after = await bot.deps.store.links.get(link.id);
    expect(after?.status).toBe('failed');
    expect(after?.failure).toBe('ResourceNotFoundException');
    const events = await bot.deps.store.audit.list(`link#${link.linkId}`);
    expect(events.map((e) => e.action)).toContain('credentials.reveal-failed');
    const update = bot.slack.callsOf('chat.update').find((c) => c.args.ts === link.dmTs);
    expect(String(update?.args.text)).toContain('could not show the credentials');
  });

  it('after a transient failure to read the secret, reveals nothing and leaves the link usable', async () => {
    const { bundle, token, link } = await delivered();
    const spy = vi.spyOn(await bot.deps.aws.secrets(), 'send').mockImplementationOnce(async () => {
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    });

    const first = await requestPage(bot, 'POST', token);
    spy.mockRestore();
    const statusBetween = (await bot.deps.store.links.get(link.id))?.status;
    const second = await requestPage(bot, 'POST', token);

    expect(first.statusCode).toBe(503);
    expect(first.body).toContain('Nothing was revealed, and the link still works');
    expect(first.body).not.toContain(bundle.accessKey?.secretAccessKey);
    expect(statusBetween).toBe('pending');
    expect(second.body).toContain(bundle.accessKey?.secretAccessKey);
  });

  it('records the opening in the audit trail with where it came from', async () => {
    const { token, link } = await delivered();

    await requestPage(bot, 'POST', token, { sourceIp: '198.51.100.7', userAgent: 'test-agent/1.0' });

    const events = await bot.deps.store.audit.list(`link#${link.linkId}`);
    const opened = events.find((e) => e.action === 'credentials.opened');
    expect(opened?.detail).toMatchObject({ sourceIp: '198.51.100.7', userAgent: 'test-agent/1.0' });
  });
});

describe('security headers', () => {
  const expectStrictHeaders = (page: HttpResult) => {
    const h = page.headers ?? {};
    expect(h['cache-control']).toBe('no-store');
    expect(h['referrer-policy']).toBe('no-referrer');
    expect(h['x-frame-options']).toBe('DENY');
    expect(h['x-content-type-options']).toBe('nosniff');
    const csp = String(h['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("form-action 'self'");
    expect(csp).toContain("base-uri 'none'");
    expect(csp).toMatch(/style-src 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    expect(csp).not.toMatch(/https?:|\*|'unsafe-/);
  };

  it('are on every page: pending, revealed, used, gone, HEAD, a wrong method and an internal error', async () => {
    const { token } = await delivered();
    const pages: [string, HttpResult][] = [];
    pages.push(['GET pending', await requestPage(bot, 'GET', token)]);
    pages.push(['HEAD', await requestPage(bot, 'HEAD', token)]);
    pages.push(['POST reveal', await requestPage(bot, 'POST', token)]);
    pages.push(['GET used', await requestPage(bot, 'GET', token)]);
    pages.push(['GET unknown', await requestPage(bot, 'GET', 'no-such-token-but-well-formed-0000000000000')]);
    pages.push(['GET malformed', await requestPage(bot, 'GET', '..%2Fetc')]);
    pages.push(['PUT', await requestPage(bot, 'PUT', token)]);
    const spy = vi.spyOn(bot.deps.store.links, 'get').mockRejectedValueOnce(new Error('DynamoDB is down'));
    pages.push(['internal error', await requestPage(bot, 'GET', token)]);
    spy.mockRestore();

    expect(pages.map(([name, p]) => [name, p.statusCode])).toEqual([
      ['GET pending', 200],
      ['HEAD', 200],
      ['POST reveal', 200],
      ['GET used', 410],
      ['GET unknown', 404],
      ['GET malformed', 404],
      ['PUT', 405],
      ['internal error', 500],
    ]);
    for (const [, page] of pages) expectStrictHeaders(page);
  });
});

describe('expiry', () => {
  // Each test starts with no link due: earlier tests leave pending links, which a later clock move would expire.
  beforeEach(async () => {
    bot.clock.advance(25 * HOUR);
    await bot.schedule();
    await bot.drain(); // the projection refresh parts it hands the worker
  });

  it('an expired link and an unknown token get the same "gone" page, and the expired one reveals nothing', async () => {
    const { bundle, token, link } = await delivered();
    bot.clock.advance(24 * HOUR + 1);

    const get = await requestPage(bot, 'GET', token);
    const post = await requestPage(bot, 'POST', token);
    const unknown = await requestPage(bot, 'GET', `${'x'.repeat(42)}y`);

    expect(get.statusCode).toBe(404);
    expect(get.body).toContain('This link is gone');
    expect(post).toEqual(get);
    expect(unknown).toEqual(get);
    expect(post.body).not.toContain(bundle.accessKey?.secretAccessKey);
    expect((await bot.deps.store.links.get(link.id))?.status).toBe('pending');
    expect((await secretValue(link.secretName)).SecretString).toBeDefined();
  });

  it('the scheduled sweep deletes an expired link secret, deactivates its key, marks it expired and audits it', async () => {
    const { bundle, link } = await delivered();
    bot.clock.advance(24 * HOUR + 1);

    const results = await bot.schedule();

    expect(results['expire-credential-links']).toMatchObject({ expired: 1, keysDeactivated: 1, failed: 0 });
    await expect(secretValue(link.secretName)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    expect(await keyStatus(bundle)).toBe('Inactive');
    expect((await bot.deps.store.links.get(link.id))?.status).toBe('expired');
    const events = await bot.deps.store.audit.list(`link#${link.linkId}`);
    expect(events.map((e) => e.action)).toEqual(['credentials.delivered', 'credentials.expired']);
  });

  it('the scheduled sweep also removes the console password nobody received, and tells recipient and requester so', async () => {
    const { bundle, link } = await delivered({ console: true });
    bot.clock.advance(24 * HOUR + 1);
    const before = { recipient: dmsTo('U0RECIPIENT').length, requester: dmsTo('U0REQUESTER').length };

    const results = await bot.schedule();

    expect(results['expire-credential-links']).toMatchObject({ expired: 1, consolePasswordsRemoved: 1, failed: 0 });
    await expect(
      bot.deps.aws.account().iam.send(new GetLoginProfileCommand({ UserName: bundle.userName })),
    ).rejects.toMatchObject({ name: 'NoSuchEntityException' });
    expect((await bot.deps.store.links.get(link.id))?.consoleRemovedAt).toBe(bot.clock.now().getTime());
    for (const notice of [
      ...dmsTo('U0RECIPIENT').slice(before.recipient),
      ...dmsTo('U0REQUESTER').slice(before.requester),
    ]) {
      expect(JSON.stringify(notice.args.blocks)).toContain('The console password was removed');
    }
    const update = bot.slack.callsOf('chat.update').find((c) => c.args.ts === link.dmTs);
    expect(JSON.stringify(update?.args.blocks)).toContain('the console password removed');
  });

  it('tells the recipient and the requester that the link expired unopened', async () => {
    const { bundle, link } = await delivered();
    bot.clock.advance(24 * HOUR + 1);
    const before = { recipient: dmsTo('U0RECIPIENT').length, requester: dmsTo('U0REQUESTER').length };

    await bot.schedule();
    await bot.drain(); // the projection refresh parts it hands the worker

    const toRecipient = dmsTo('U0RECIPIENT').slice(before.recipient);
    const toRequester = dmsTo('U0REQUESTER').slice(before.requester);
    expect(toRecipient).toHaveLength(1);
    expect(toRequester).toHaveLength(1);
    expect(String(toRequester[0]?.args.text)).toContain(`${bundle.userName} (sent to U0RECIPIENT) expired unopened`);
    const update = bot.slack.callsOf('chat.update').find((c) => c.args.ts === link.dmTs);
    expect(String(update?.args.text)).toContain('expired unopened');
  });

  it('sweeps idempotently: a second run finds nothing to do and tells nobody again', async () => {
    await delivered();
    bot.clock.advance(24 * HOUR + 1);
    await bot.schedule();
    await bot.drain(); // the projection refresh parts it hands the worker
    const callsBefore = bot.slack.calls.length;

    const second = await bot.schedule();

    expect(second['expire-credential-links']).toEqual({
      expired: 0,
      secretsDeleted: 0,
      keysDeactivated: 0,
      reportsFinished: 0,
      consolePasswordsRemoved: 0,
      notified: 0,
      failed: 0,
    });
    expect(bot.slack.calls).toHaveLength(callsBefore);
  });

  it('leaves links that have not expired alone', async () => {
    const { bundle, link } = await delivered();
    bot.clock.advance(23 * HOUR);

    await bot.schedule();
    await bot.drain(); // the projection refresh parts it hands the worker

    expect((await bot.deps.store.links.get(link.id))?.status).toBe('pending');
    expect(await keyStatus(bundle)).toBe('Active');
    expect((await secretValue(link.secretName)).SecretString).toBeDefined();
  });
});

describe('after the reveal', () => {
  it('updates the recipient DM to say when it was opened, with a "This wasn\'t me" button', async () => {
    const { token, link } = await delivered();

    await requestPage(bot, 'POST', token);

    const update = bot.slack.callsOf('chat.update').find((c) => c.args.ts === link.dmTs);
    expect(update?.args.channel).toBe(link.dmChannel);
    const blocks = JSON.stringify(update?.args.blocks);
    expect(blocks).toContain(`<!date^${Math.floor(bot.clock.now().getTime() / 1000)}^`);
    expect(blocks).toContain('"action_id":"credential_not_me"');
    expect(blocks).toContain(`"value":"${link.linkId}"`);
    expect(blocks).toContain("This wasn't me");
  });

  it('"This wasn\'t me" deactivates the access key, alerts the approval channel and audits the report', async () => {
    const { bundle, token, link } = await delivered();
    await requestPage(bot, 'POST', token);

    const result = await bot.interact(notMeClick(link.linkId, 'U0RECIPIENT', bot.slack.responseUrl('not-me-1')));
    await bot.drain();

    expect(result.statusCode).toBe(200);
    expect(await keyStatus(bundle)).toBe('Inactive');
    const alerts = dmsTo('C0APPROVALS').filter((c) => JSON.stringify(c.args).includes(link.linkId));
    expect(alerts).toHaveLength(1);
    expect(JSON.stringify(alerts[0]?.args.blocks)).toContain(
      `Access key \`${bundle.accessKey?.accessKeyId}\` was deactivated`,
    );
    expect((await bot.deps.store.links.get(link.id))?.status).toBe('revoked');
    const events = await bot.deps.store.audit.list(`link#${link.linkId}`);
    expect(events.find((e) => e.action === 'credentials.revoked')).toMatchObject({ actor: 'U0RECIPIENT' });
  });

  it('"This wasn\'t me" also removes the console password of a console user', async () => {
    const { token, link, bundle } = await delivered({ console: true });
    await requestPage(bot, 'POST', token);

    await bot.interact(notMeClick(link.linkId, 'U0RECIPIENT', bot.slack.responseUrl('not-me-console')));
    await bot.drain();

    await expect(
      bot.deps.aws.account().iam.send(new GetLoginProfileCommand({ UserName: bundle.userName })),
    ).rejects.toMatchObject({ name: 'NoSuchEntityException' });
  });

  it('pressing "This wasn\'t me" twice has one effect, and the second press is told it was already reported', async () => {
    const { token, link } = await delivered();
    await requestPage(bot, 'POST', token);

    await Promise.all([
      bot.interact(notMeClick(link.linkId, 'U0RECIPIENT', bot.slack.responseUrl('twice-a'))),
      bot.interact(notMeClick(link.linkId, 'U0RECIPIENT', bot.slack.responseUrl('twice-b'))),
    ]);
    await bot.drain();
    await bot.interact(notMeClick(link.linkId, 'U0RECIPIENT', bot.slack.responseUrl('twice-c')));
    await bot.drain();

    expect(dmsTo('C0APPROVALS').filter((c) => JSON.stringify(c.args).includes(link.linkId))).toHaveLength(1);
    const events = await bot.deps.store.audit.list(`link#${link.linkId}`);
    expect(events.filter((e) => e.action === 'credentials.revoked')).toHaveLength(1);
    const answers = bot.slack.callsOf('response_url').filter((c) => String(c.args.response_id).startsWith('twice-'));
    expect(answers).toHaveLength(2);
    for (const answer of answers) expect(String(answer.args.text)).toContain('already reported');
  });

  it('refuses "This wasn\'t me" from anyone but the recipient and changes nothing', async () => {
    const { bundle, token, link } = await delivered();
    await requestPage(bot, 'POST', token);

    await bot.interact(notMeClick(link.linkId, 'U0SOMEONEELSE', bot.slack.responseUrl('not-recipient')));
    await bot.drain();

    expect(await keyStatus(bundle)).toBe('Active');
    expect((await bot.deps.store.links.get(link.id))?.status).toBe('opened');
    expect(dmsTo('C0APPROVALS').filter((c) => JSON.stringify(c.args).includes(link.linkId))).toHaveLength(0);
    const [answer] = bot.slack.callsOf('response_url').filter((c) => c.args.response_id === 'not-recipient');
    expect(String(answer?.args.text)).toContain('Only the person these credentials were sent to');
  });
});
