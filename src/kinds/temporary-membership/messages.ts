/** The messages of a temporary membership: pure functions of the stored request (no I/O, no Slack import). */
import { context, esc, section, slackDate, user } from '../../blocks/text.js';
import type { AccessRequest } from '../../store/requests.js';
import { changeSummary, changeTitle, durationText } from '../summaries.js';

/** Action ids of the grant's buttons (the DM before the end, the App Home). */
export const GRANT_EXTEND = 'grant_extend';
export const GRANT_DONE = 'grant_done';

const code = (s: string) => `\`${esc(s)}\``;
const at = (iso: string | undefined) => (iso ? slackDate(new Date(iso)) : 'an unknown time');

/** What a grant asks, as one line: "add IAM user `x` in *home* (`123…`) to `a`, `b` for 4h". */
export const grantSummary = (r: AccessRequest): string => changeSummary(r);

/** A button's value: the request and the end time the reader saw (a click on an older end is refused, not doubled). */
export const grantButtonValue = (r: AccessRequest): string => `${r.id}|${r.grant?.endsAt ?? ''}`;

/** The Extend and "Done, remove now" buttons of a grant, as it stands. */
export function grantButtons(r: AccessRequest) {
  const value = grantButtonValue(r);
  return {
    type: 'actions',
    elements: [
      {
        type: 'button',
        text: { type: 'plain_text', text: `Extend by ${durationText(r.grant?.durationMs ?? 0)}` },
        action_id: GRANT_EXTEND,
        value,
        style: 'primary',
      },
      {
        type: 'button',
        text: { type: 'plain_text', text: 'Done, remove now' },
        action_id: GRANT_DONE,
        value,
        style: 'danger',
      },
    ],
  };
}

/** The owner's DM once the memberships are added: until when. */
export function grantAddedMessage(r: AccessRequest) {
  const text = `:hourglass_flowing_sand: At ${user(r.requester)}'s request, ${changeTitle(r)} is now in ${r.groups.map(code).join(', ')} until ${at(r.grant?.endsAt)}. I will remove it then.`;
  return {
    text: `Added until ${r.grant?.endsAt ?? '?'}: ${r.userName}`,
    blocks: [section(text), context(`Request ${code(r.id)}`)],
  };
}

/** The DM before the end, to the owner and the requester, with Extend and "Done, remove now". */
export function grantEndingMessage(r: AccessRequest) {
  const text = `:alarm_clock: The temporary membership of ${changeTitle(r)} in ${r.groups.map(code).join(', ')} ends ${at(r.grant?.endsAt)}. Extend it, or remove it now if you are done.`;
  return {
    text: `Temporary membership of ${r.userName} ends ${r.grant?.endsAt ?? '?'}`,
    blocks: [section(text), grantButtons(r), context(`Request ${code(r.id)}`)],
  };
}

/** The DM once the memberships are removed (or found gone). */
export function grantEndedMessage(r: AccessRequest, removed: string[], gone: string[], kept: string[]) {
  const lines = [
    `:lock: The temporary membership of ${changeTitle(r)} ended${r.grant?.endNow ? ` early, at ${user(r.grant.endNow.by)}'s request` : ''}.`,
    ...(removed.length ? [`Removed from ${removed.map(code).join(', ')}.`] : []),
    ...(gone.length ? [`Already out of ${gone.map(code).join(', ')} (removed outside the bot).`] : []),
    ...(kept.length ? [`Kept in ${kept.map(code).join(', ')}: a permanent membership was approved meanwhile.`] : []),
  ];
  return {
    text: `Temporary membership of ${r.userName} ended`,
    blocks: [section(lines.join('\n')), context(`Request ${code(r.id)}`)],
  };
}

/** The requester's DM about the grant's state (the change messages' words, with the end time once added). */
export function grantRequesterLine(r: AccessRequest): string | undefined {
  if (r.status !== 'done' || !r.grant?.endsAt) return undefined;
  return `:white_check_mark: Done: ${grantSummary(r)}. It ends ${at(r.grant.endsAt)}; I will remove it then.`;
}
