/**
 * What Slack puts on the wire, for the local senders (`npm run slack`, the browser stand-in): signed requests and
 * command text as Slack rewrites it. Dev tool only.
 */
import { createHmac } from 'node:crypto';

/** `v0=HMAC_SHA256(secret, "v0:" + ts + ":" + body)`, as Slack signs every request. */
export function slackSignature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/**
 * Command text as Slack sends what was typed: `&`, `<` and `>` escaped, and `@U0123` (a user picked with @, here
 * typed by id) turned into the mention Slack sends (`<@U0123|u0123>`, the app's "escape users" setting).
 */
export function slackCommandText(typed: string): string {
  return typed
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(
      /(^|[\s=,])@([UW][A-Z0-9]{2,})\b/g,
      (_, before: string, id: string) => `${before}<@${id}|${id.toLowerCase()}>`,
    );
}

/** POSTs a body to the bot's Slack endpoint, signed with the secret; returns the status and the answer's text. */
export async function postSigned(
  url: string,
  secret: string,
  body: string,
  contentType = 'application/x-www-form-urlencoded',
): Promise<{ status: number; text: string }> {
  const ts = Math.floor(Date.now() / 1000);
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': contentType,
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': slackSignature(secret, ts, body),
      'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
    },
    body,
  });
  return { status: res.status, text: await res.text() };
}

/** Block Kit as readable text, for a terminal: sections, contexts, headers, fields and buttons. */
export function blocksAsText(message: { text?: unknown; blocks?: unknown }): string {
  const blocks = Array.isArray(message.blocks) ? (message.blocks as Record<string, unknown>[]) : [];
  if (blocks.length === 0) return typeof message.text === 'string' ? message.text : '';
  const textOf = (t: unknown) => (t && typeof t === 'object' ? String((t as { text?: unknown }).text ?? '') : '');
  const lines: string[] = [];
  for (const b of blocks) {
    if (b.type === 'divider') lines.push('────────');
    else if (b.type === 'header') lines.push(`== ${textOf(b.text)} ==`);
    else if (b.type === 'section') {
      if (b.text) lines.push(textOf(b.text));
      for (const f of (b.fields as unknown[]) ?? []) lines.push(textOf(f));
      if (b.accessory && (b.accessory as { type?: string }).type === 'button')
        lines.push(`[${textOf((b.accessory as { text?: unknown }).text)}]`);
    } else if (b.type === 'context') lines.push(((b.elements as unknown[]) ?? []).map(textOf).join(' '));
    else if (b.type === 'actions')
      lines.push(
        ((b.elements as { text?: unknown; url?: string }[]) ?? [])
          .map((e) => `[${textOf(e.text)}${e.url ? ` ${e.url}` : ''}]`)
          .join(' '),
      );
  }
  return lines.join('\n');
}
