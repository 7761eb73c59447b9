import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { LinkRecord } from '../../src/store/links.js';
import { CONTENT_SECURITY_POLICY } from '../../src/web/assets.js';
import { pendingPage, renderDocument, revealedPage } from '../../src/web/pages.js';

const link: LinkRecord = {
  id: 'f'.repeat(64),
  linkId: 'link-unit-test',
  status: 'pending',
  deliveryKey: 'delivery-unit-test',
  requestId: 'req-unit-test',
  purpose: 'New IAM user <script>alert(1)</script> "quoted"',
  recipient: 'U0RECIPIENT',
  requester: 'U0REQUESTER',
  approvers: ['U0APPROVER1'],
  account: 'home',
  accountId: '123456789012',
  region: 'us-east-1',
  userName: 'unit-user',
  accessKeyId: 'TEST-KEY-ID-NOT-REAL',
  hasConsole: false,
  secretName: 'iam-slack-bot/links/link-unit-test',
  createdAt: 0,
  expiresAt: 86_400_000,
  ttl: 0,
};

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

describe('the credential page markup', () => {
  it('escapes what a requester typed, so it cannot inject markup into the page', () => {
    const html = renderDocument(pendingPage(link, 0));

    expect(html).toContain('New IAM user &lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot;');
    expect(html).not.toContain('<script>alert(1)');
  });

  it('carries exactly one inline style and one inline script, and the policy allows exactly those by hash', () => {
    const html = renderDocument(
      revealedPage(link, {
        accountId: '123456789012',
        region: 'us-east-1',
        userName: 'unit-user',
        accessKey: { accessKeyId: 'TEST-KEY-ID-NOT-REAL', secretAccessKey: 'test-secret-not-real' },
        console: { password: 'test-password-not-real', signInUrl: 'https://example.invalid/console' },
      }),
    );

    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1] ?? '');
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1] ?? '');
    expect(styles).toHaveLength(1);
    expect(scripts).toHaveLength(1);
    expect(CONTENT_SECURITY_POLICY).toContain(`style-src ${sha256(styles[0] ?? '')}`);
    expect(CONTENT_SECURITY_POLICY).toContain(`script-src ${sha256(scripts[0] ?? '')}`);
    expect(html).not.toMatch(/\sstyle=|\son[a-z]+=|<link rel="stylesheet"|src="/);
  });
});
