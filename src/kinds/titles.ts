/**
 * How messages name what a request is about: text helpers the summaries (./summaries.ts) and the kinds' own summary
 * lines share. Imports only text helpers.
 */
import { esc } from '../blocks/text.js';
import type { AccessRequest } from '../store/requests.js';

const code = (s: string) => `\`${esc(s)}\``;

/** "IAM user `build-bot` in home": how messages name the user a change request is about. */
export const changeTitle = (r: AccessRequest): string =>
  `IAM user ${code(r.userName)} in *${esc(r.account)}* (${code(r.accountId)})`;

/** `4h`, `90m`, `2d`: a duration as the commands write it. */
export function durationText(ms: number): string {
  if (ms > 0 && ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  return `${Math.round(ms / 60_000)}m`;
}

/** The request's groups, as code, comma-separated. */
export const groupsOf = (r: AccessRequest): string => r.groups.map(code).join(', ');
