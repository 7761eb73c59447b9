import type { LinkRecord } from '../store/links.js';
import { CREDENTIAL_LINK_OPEN, CREDENTIAL_NOT_ME } from './ids.js';
import { context, esc, section, slackDate, user } from './text.js';

type LinkFacts = Pick<
  LinkRecord,
  | 'linkId'
  | 'purpose'
  | 'requester'
  | 'recipient'
  | 'approvers'
  | 'account'
  | 'accountId'
  | 'userName'
  | 'accessKeyId'
  | 'hasConsole'
  | 'requestId'
  | 'openedFromIp'
>;

const at = (ms: number) => slackDate(new Date(ms));
const from = (link: Pick<LinkFacts, 'openedFromIp'>) =>
  link.openedFromIp ? ` from \`${esc(link.openedFromIp)}\`` : '';
const people = (ids: string[]) => (ids.length > 0 ? ids.map(user).join(', ') : 'nobody');
const what = (link: Pick<LinkFacts, 'accessKeyId' | 'hasConsole'>) =>
  [link.accessKeyId ? 'an access key' : '', link.hasConsole ? 'a console password' : ''].filter(Boolean).join(' and ');
const where = (link: Pick<LinkFacts, 'userName' | 'account' | 'accountId'>) =>
  `IAM user \`${esc(link.userName)}\` in account *${esc(link.account)}* (\`${link.accountId}\`)`;

/**
 * The recipient's DM with the one-time link. The URL is only in the button (not in the notification text) and the
 * messenger turns unfurling off, so no preview bot opens it (opening would not consume it anyway).
 */
export function credentialLinkMessage(link: LinkFacts & { url: string; expiresAt: number }) {
  return {
    text: `Your AWS credentials for ${link.userName} are ready: open the one-time link in this message before it expires.`,
    blocks: [
      section(
        `:key: *Your AWS credentials are ready*\n${esc(link.purpose)}\n${where(link)}: ${what(link) || 'credentials'}.`,
      ),
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: `*Requested by*\n${user(link.requester)}` },
          { type: 'mrkdwn', text: `*Approved by*\n${people(link.approvers)}` },
          { type: 'mrkdwn', text: `*Link expires*\n${at(link.expiresAt)}` },
          { type: 'mrkdwn', text: `*Request*\n\`${esc(link.requestId)}\`` },
        ],
      },
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            action_id: CREDENTIAL_LINK_OPEN,
            style: 'primary',
            text: { type: 'plain_text', text: 'Open one-time link' },
            url: link.url,
          },
        ],
      },
      context(
        'The link works once: the page shows the credentials a single time, then they are destroyed. Opening the page does not use it up; only pressing *Reveal* does. Only you should open it.',
      ),
    ],
  };
}

/** The DM after the reveal: when it happened, and a way to say it was someone else. */
export function credentialOpenedMessage(link: LinkFacts, openedAt: number) {
  return {
    text: `Your one-time credentials for ${link.userName} were opened. If that wasn't you, press "This wasn't me".`,
    blocks: [
      section(
        `:white_check_mark: *Credentials opened* ${at(openedAt)}${from(link)}\n${esc(link.purpose)}\n${where(link)}.`,
      ),
      context('The link no longer works and the stored copy is deleted. If you did not open it, tell us at once:'),
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            action_id: CREDENTIAL_NOT_ME,
            style: 'danger',
            text: { type: 'plain_text', text: "This wasn't me" },
            value: link.linkId,
            confirm: {
              title: { type: 'plain_text', text: 'Report these credentials?' },
              text: {
                type: 'mrkdwn',
                text: 'The access key is deactivated at once and the approvers are alerted. You will need new credentials.',
              },
              confirm: { type: 'plain_text', text: 'Deactivate and report' },
              deny: { type: 'plain_text', text: 'Cancel' },
            },
          },
        ],
      },
    ],
  };
}

export interface RevocationOutcome {
  /** The access key is inactive now (or there was none). */
  keyDeactivated: boolean;
  /** The console password was removed (or there was none). */
  consoleDisabled: boolean;
}

/** What a report has done so far, as stored on the link. */
export interface ReportState extends RevocationOutcome {
  /** The approval channel was alerted. */
  alerted: boolean;
}

/** The DM once the recipient reported the reveal: what is done, and what is still being tried. */
export function credentialReportedMessage(link: LinkFacts, openedAt: number, state: ReportState) {
  const disabled = state.keyDeactivated && state.consoleDisabled;
  const parts = [
    link.accessKeyId
      ? state.keyDeactivated
        ? `Access key \`${link.accessKeyId}\` is inactive.`
        : `Access key \`${link.accessKeyId}\` is not deactivated yet.`
      : '',
    link.hasConsole
      ? state.consoleDisabled
        ? 'Console sign-in is disabled.'
        : 'Console sign-in is not disabled yet.'
      : '',
    state.alerted
      ? disabled
        ? `The approvers were alerted; ask ${user(link.requester)} for new credentials.`
        : 'The approvers were alerted and asked to disable the rest by hand; I keep trying too.'
      : 'The approvers could not be alerted yet; I keep trying.',
  ];
  return {
    text:
      disabled && state.alerted
        ? `Reported: the credentials for ${link.userName} were disabled and the approvers alerted.`
        : `Reported: not everything is done yet for the credentials of ${link.userName}; I keep trying.`,
    blocks: [
      section(
        `:rotating_light: *You reported that you did not open these credentials* (opened ${at(openedAt)}).\n${where(link)}.`,
      ),
      context(parts.filter(Boolean).join(' ')),
    ],
  };
}

/**
 * The private answer to a "This wasn't me" press on credentials already reported, worded from what the stored
 * report says is done: never "done" for a step that is not.
 */
export function credentialReportStatusText(
  link: Pick<LinkFacts, 'accessKeyId' | 'hasConsole'>,
  progress: ReportState,
  inProgress: boolean,
): string {
  if (inProgress) {
    return 'You already reported these credentials; disabling them and alerting the approvers is under way right now.';
  }
  const done: string[] = [];
  const undone: string[] = [];
  if (link.accessKeyId) {
    (progress.keyDeactivated ? done : undone).push(
      progress.keyDeactivated
        ? `access key \`${link.accessKeyId}\` is inactive`
        : `access key \`${link.accessKeyId}\` is not deactivated yet`,
    );
  }
  if (link.hasConsole) {
    (progress.consoleDisabled ? done : undone).push(
      progress.consoleDisabled ? 'console sign-in is removed' : 'console sign-in is not removed yet',
    );
  }
  (progress.alerted ? done : undone).push(
    progress.alerted ? 'the approvers were alerted' : 'the approvers have not been alerted yet',
  );
  const list = (items: string[]) =>
    items.length > 1 ? `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}` : (items[0] ?? '');
  return undone.length === 0
    ? `You already reported these credentials: ${list(done)}.`
    : `You already reported these credentials${done.length > 0 ? `: ${list(done)}` : ''}. Still to do: ${list(undone)}; press the button again to retry, or ask the approvers.`;
}

/** The alert in the approval channel when a recipient reports a reveal that was not theirs. */
export function credentialRevokedAlert(link: LinkFacts, openedAt: number, outcome: RevocationOutcome) {
  const key = link.accessKeyId
    ? outcome.keyDeactivated
      ? `Access key \`${link.accessKeyId}\` was deactivated.`
      : `:warning: Access key \`${link.accessKeyId}\` could NOT be deactivated: run \`aws iam update-access-key --user-name ${esc(link.userName)} --access-key-id ${link.accessKeyId} --status Inactive\` in account \`${link.accountId}\`.`
    : '';
  const consoleLine = link.hasConsole
    ? outcome.consoleDisabled
      ? 'Console sign-in (login profile) was removed.'
      : `:warning: The console login profile of \`${esc(link.userName)}\` could NOT be removed: remove it by hand.`
    : '';
  return {
    text: `Security alert: ${link.recipient} says they did not open the one-time credentials for ${link.userName}.`,
    blocks: [
      section(
        `:rotating_light: *Credentials opened by someone else?* ${user(link.recipient)} says they did not open the one-time link for ${where(link)}.`,
      ),
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: `*Opened*\n${at(openedAt)}${from(link)}` },
          { type: 'mrkdwn', text: `*Request*\n\`${esc(link.requestId)}\`` },
          { type: 'mrkdwn', text: `*Requested by*\n${user(link.requester)}` },
          { type: 'mrkdwn', text: `*Approved by*\n${people(link.approvers)}` },
        ],
      },
      section([key, consoleLine].filter(Boolean).join('\n') || 'There was no key to deactivate.'),
      context(`Link \`${link.linkId}\`. Check CloudTrail for the key's use since it was opened.`),
    ],
  };
}

/** What the expiry sweep has disabled of what the link would have delivered. */
export interface ExpiryOutcome {
  /** The access key is inactive (or there was none). */
  keyDeactivated: boolean;
  /** The console password is removed (or there was none). */
  consoleRemoved: boolean;
}

/** "the access key deactivated and the console password removed", for what the link held and the sweep did. */
function disabledPhrase(link: Pick<LinkFacts, 'accessKeyId' | 'hasConsole'>, outcome: ExpiryOutcome): string {
  return [
    link.accessKeyId && outcome.keyDeactivated ? 'the access key deactivated' : '',
    link.hasConsole && outcome.consoleRemoved ? 'the console password removed' : '',
  ]
    .filter(Boolean)
    .join(' and ');
}

/** The recipient's original DM once the link expired unopened. */
export function credentialExpiredMessage(link: LinkFacts, expiresAt: number, outcome: ExpiryOutcome) {
  const disabled = disabledPhrase(link, outcome);
  return {
    text: `The one-time link for ${link.userName} expired unopened.`,
    blocks: [
      section(
        `:hourglass: *This one-time link expired unopened* ${at(expiresAt)}.\n${esc(link.purpose)}\n${where(link)}.`,
      ),
      context(`The stored credentials were deleted${disabled ? ` and ${disabled}` : ''}; nobody saw them.`),
    ],
  };
}

/** The note to the recipient and the requester that a link expired unopened. */
export function credentialExpiredNotice(link: LinkFacts, expiresAt: number, outcome: ExpiryOutcome) {
  const key = !link.accessKeyId
    ? ''
    : outcome.keyDeactivated
      ? ` Access key \`${link.accessKeyId}\` was deactivated.`
      : ` Access key \`${link.accessKeyId}\` could not be deactivated yet; I will keep trying.`;
  const consoleLine = !link.hasConsole
    ? ''
    : outcome.consoleRemoved
      ? ' The console password was removed: nobody can sign in with it.'
      : ' The console password could not be removed yet; I will keep trying.';
  return {
    text: `The one-time credential link for ${link.userName} (sent to ${link.recipient}) expired unopened.`,
    blocks: [
      section(
        `:hourglass: The one-time credential link for ${where(link)}, sent to ${user(link.recipient)}, expired unopened ${at(expiresAt)}.`,
      ),
      context(
        `The stored credentials were deleted.${key}${consoleLine} If they are still needed, ask for new credentials (request \`${esc(link.requestId)}\`).`,
      ),
    ],
  };
}

/** The DM when the link was claimed but the stored credentials could not be read: nothing was shown. */
export function credentialFailedMessage(link: LinkFacts) {
  return {
    text: `Your one-time link for ${link.userName} could not show the credentials. Ask for new ones.`,
    blocks: [
      section(
        `:x: *The one-time link could not show your credentials.*\n${esc(link.purpose)}\n${where(link)}. Nothing was revealed.`,
      ),
      context(
        `The link no longer works. Ask ${user(link.requester)} for new credentials (request \`${esc(link.requestId)}\`).`,
      ),
    ],
  };
}
