import type { AuditEvent } from '../store/audit.js';
import { AUDIT_MORE } from './ids.js';
import { context, esc, sections, slackDate } from './text.js';

const LINE_MAX = 400;

const detailText = (detail: AuditEvent['detail']) =>
  Object.entries(detail ?? {})
    .filter(([, v]) => v !== null && v !== '' && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`)
    .join(' · ');

/** One event on one line: when, who, what, about what, and its details (shortened past LINE_MAX). */
export function auditLine(e: AuditEvent): string {
  const when = slackDate(new Date(e.at.split('#')[0] ?? e.at));
  const who = e.actor === 'system' ? 'the bot' : `<@${esc(e.actor)}>`;
  const detail = esc(detailText(e.detail));
  const line = `${when} ${who} *${esc(e.action)}* \`${esc(e.subject)}\`${detail ? ` ${detail}` : ''}`;
  return line.length > LINE_MAX ? `${line.slice(0, LINE_MAX - 1)}…` : line;
}

/**
 * `/iam audit`: one page of events, newest first, with a More button for the next page (its value: the command's
 * arguments for that page).
 */
export function auditMessage(title: string, events: AuditEvent[], page: number, more: boolean, nextArgs: string) {
  if (events.length === 0) return { text: page > 1 ? `${title}: no more events.` : `${title}: no events.` };
  const blocks: unknown[] = [...sections([`*${esc(title)}*, newest first (page ${page})`, ...events.map(auditLine)])];
  if (more)
    blocks.push(
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            action_id: AUDIT_MORE,
            text: { type: 'plain_text', text: 'More' },
            value: nextArgs.slice(0, 2000),
          },
        ],
      },
      context(`Or \`/iam audit ${esc(nextArgs)}\``),
    );
  return { text: `${title}: ${events.length} events (page ${page})`, blocks };
}
