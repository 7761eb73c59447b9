import { type CredentialBundle, mfaConsoleUrl } from '../services/credential-types.js';
import type { LinkRecord } from '../store/links.js';
import { SCRIPT, STYLE } from './assets.js';

/** Escapes text for HTML content and attribute values. */
export const html = (value: string | number): string =>
  String(value).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

export interface Page {
  status: number;
  title: string;
  body: string;
}

const LOCK =
  '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><rect x="4" y="11" width="16" height="10" rx="2"/><path d="M8 11V7a4 4 0 0 1 8 0v4"/></svg>';

/** A complete document around a page's body: inline style and script only, nothing fetched. */
export function renderDocument(page: Page): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>${html(page.title)}</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<main>
<div class="brand">${LOCK}<span>IAM bot · one-time credentials</span></div>
<section class="card">
${page.body}
</section>
<p class="foot">Credentials from this page are never stored in Slack. This page is not cached by your browser.</p>
</main>
<script>${SCRIPT}</script>
</body>
</html>`;
}

const UTC = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'UTC',
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

/** A time as UTC text, which the page's script turns into the reader's local time. */
const time = (ms: number) => {
  const d = new Date(ms);
  return `<time datetime="${d.toISOString()}" data-local>${html(UTC.format(d))} UTC</time>`;
};

function relative(ms: number, now: number): string {
  const minutes = Math.round((ms - now) / 60_000);
  if (minutes < 1) return 'in less than a minute';
  if (minutes < 90) return `in ${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.round(minutes / 60);
  return `in ${hours} hour${hours === 1 ? '' : 's'}`;
}

const slackUser = (id: string) => `Slack user <code>${html(id)}</code>`;
const contents = (link: LinkRecord) =>
  [link.accessKeyId ? 'Access key' : '', link.hasConsole ? 'Console password' : ''].filter(Boolean).join(' and ');

function facts(link: LinkRecord, rows: [string, string][] = []): string {
  const all: [string, string][] = [
    ['IAM user', `<code>${html(link.userName)}</code>`],
    ['Account', `${html(link.account)} <span class="muted">(${html(link.accountId)})</span>`],
    ['Contains', html(contents(link))],
    ...rows,
  ];
  return `<dl class="facts">${all.map(([k, v]) => `<dt>${html(k)}</dt><dd>${v}</dd>`).join('')}</dl>`;
}

const revealForm = `<form method="post" data-once><button type="submit" class="primary">Reveal credentials</button></form>`;

/** GET of a pending link: what waits, for whom, until when; nothing secret. */
export function pendingPage(link: LinkRecord, now: number): Page {
  return {
    status: 200,
    title: 'Your AWS credentials are ready',
    body: `<h1>Your AWS credentials are ready</h1>
<p class="lead">${html(link.purpose)}</p>
${facts(link, [
  ['Sent to', slackUser(link.recipient)],
  ['Approved by', link.approvers.map(slackUser).join(', ') || 'nobody'],
  ['Link expires', `${time(link.expiresAt)} <span class="muted">(${relative(link.expiresAt, now)})</span>`],
])}
<div class="notice warn"><strong>They are shown once.</strong> Have your password manager or terminal ready before you reveal them: afterwards this link stops working and the stored copy is destroyed.</div>
${revealForm}
<p class="muted small">Not expecting these? Don't reveal them; tell your security team.</p>`,
  };
}

function copyField(id: string, label: string, value: string): string {
  return `<div class="field"><span class="label">${html(label)}</span><div class="row"><div class="value" id="${id}" data-testid="${id}">${html(value)}</div><button type="button" class="copy" data-copy="${id}">Copy</button></div></div>`;
}

/**
 * A Download .csv button: the page's script writes the file from the fields `ids` show, under `header` (the IAM
 * console's columns for the same download).
 */
function downloadButton(fileName: string, header: string, ids: readonly string[]): string {
  return `<p><button type="button" class="copy" data-download="${html(fileName)}" data-header="${html(header)}" data-fields="${ids.join(',')}">Download .csv</button> <span class="muted small">the IAM console's file, made in this page from what it shows</span></p>`;
}

function copyBlock(id: string, text: string): string {
  return `<div class="block"><pre id="${id}" data-testid="${id}">${html(text)}</pre><button type="button" class="copy" data-copy="${id}">Copy</button></div>`;
}

/** The one time the credentials are shown. */
export function revealedPage(link: LinkRecord, bundle: CredentialBundle): Page {
  const profile = bundle.userName.replace(/[^\w+=,.@-]/g, '-');
  const parts: string[] = [
    `<div class="notice ok"><strong>Shown once.</strong> Copy what you need now: this page cannot be shown again, and the stored copy has been deleted.</div>
<h1>Credentials for ${html(bundle.userName)}</h1>
<p class="lead">${html(link.purpose)} · account ${html(link.account)} (${html(bundle.accountId)})</p>`,
  ];
  if (bundle.accessKey) {
    const { accessKeyId, secretAccessKey } = bundle.accessKey;
    parts.push(`<h2>Access key</h2>
${copyField('access-key-id', 'Access key ID', accessKeyId)}
${copyField('secret-access-key', 'Secret access key', secretAccessKey)}
${downloadButton(`${profile}_accessKeys.csv`, 'Access key ID,Secret access key', ['access-key-id', 'secret-access-key'])}
<h3>Paste into ~/.aws/credentials</h3>
${copyBlock('credentials-file', `[${profile}]\naws_access_key_id = ${accessKeyId}\naws_secret_access_key = ${secretAccessKey}`)}
<h3>and into ~/.aws/config</h3>
${copyBlock('config-file', `[profile ${profile}]\nregion = ${bundle.region}\noutput = json`)}
<h3>Or use aws configure</h3>
<ol>
<li>Run <code>aws configure --profile ${html(profile)}</code></li>
<li>Paste the access key ID, then the secret access key</li>
<li>Default region name: <code>${html(bundle.region)}</code>; default output format: <code>json</code></li>
<li>Check it: <code>aws sts get-caller-identity --profile ${html(profile)}</code> shows account <code>${html(bundle.accountId)}</code></li>
</ol>`);
  }
  if (bundle.console) {
    parts.push(`<h2>Console sign-in</h2>
${copyField('sign-in-url', 'Sign-in URL', bundle.console.signInUrl)}
${copyField('console-user-name', 'User name', bundle.userName)}
${copyField('password', 'One-time password', bundle.console.password)}
${downloadButton(`${profile}_credentials.csv`, 'User name,Password,Console sign-in URL', ['console-user-name', 'password', 'sign-in-url'])}
<div class="notice warn">You must choose a new password the first time you sign in; this one then stops working.</div>
<p id="mfa">Then add an MFA device: once signed in, open <a href="${html(mfaConsoleUrl(bundle.userName))}" target="_blank" rel="noopener noreferrer">your security credentials</a> and choose <strong>Assign MFA device</strong>. Until you do, your owner is reminded that this user signs in with a password alone.</p>`);
  }
  parts.push(
    '<p class="muted small">Close this tab when you are done. Never paste these credentials into Slack, email or a ticket.</p>',
  );
  return { status: 200, title: `Credentials for ${bundle.userName}`, body: parts.join('\n') };
}

/** A used link: when it was opened, nothing else. */
export function openedPage(openedAt: number): Page {
  return {
    status: 410,
    title: 'This link was already used',
    body: `<h1>This link was already used</h1>
<p>The credentials were revealed on ${time(openedAt)}. They are shown only once, so they cannot be shown again.</p>
<div class="notice bad">If that was not you, press <strong>This wasn't me</strong> in the bot's Slack message about these credentials: the access key is deactivated at once and the approvers are alerted.</div>`,
  };
}

/** Unknown, expired or replaced: one answer for all, so a page never tells which tokens ever existed. */
export function gonePage(): Page {
  return {
    status: 404,
    title: 'This link is gone',
    body: `<h1>This link is gone</h1>
<p>One-time credential links work once and only for a limited time. This one has expired, was replaced, or never existed.</p>
<p class="muted">If you still need the credentials and nobody received them, ask an approver in the approval channel
to send a new link: <code>/iam reissue &lt;request id&gt;</code> (the request id is in the DM that brought this link).
The undelivered credentials are then replaced.</p>`,
  };
}

/** The link was claimed but its credentials could not be read: nothing was shown, the link is spent. */
export function failedPage(link: LinkRecord): Page {
  return {
    status: 410,
    title: 'The credentials could not be retrieved',
    body: `<h1>The credentials could not be retrieved</h1>
<div class="notice bad">Nothing was revealed, and this link no longer works.</div>
<p>Ask ${slackUser(link.requester)} (who requested them) for new credentials. The approvers can see what happened in the bot's audit trail under link <code>${html(link.linkId)}</code>.</p>`,
  };
}

/** The secret could not be read just now: nothing was shown and the link still works. */
export function unavailablePage(link: LinkRecord, now: number): Page {
  return {
    status: 503,
    title: 'Please try again in a minute',
    body: `<h1>Please try again in a minute</h1>
<p>The credentials could not be retrieved just now. Nothing was revealed, and the link still works until ${time(link.expiresAt)} (${relative(link.expiresAt, now)}).</p>
${revealForm}`,
  };
}

/** An unexpected failure. */
export function errorPage(): Page {
  return {
    status: 500,
    title: 'Something went wrong',
    body: `<h1>Something went wrong</h1>
<p>The page could not be shown. If you had pressed Reveal, open the link again to see whether it was used.</p>`,
  };
}

export function methodNotAllowedPage(): Page {
  return {
    status: 405,
    title: 'Not allowed',
    body: '<h1>Not allowed</h1><p>Open the link from the Slack message instead.</p>',
  };
}
