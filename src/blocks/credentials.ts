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

/** The DM once the recipient reported the reveal. */
export function credentialReportedMessage(link: LinkFacts, openedAt: number, outcome: RevocationOutcome) {
  const done = outcome.keyDeactivated && outcome.consoleDisabled;
  return {
    text: done
      ? `Reported: the credentials for ${link.userName} were disabled and the approvers alerted.`
      : `Reported: the approvers were alerted, but the credentials for ${link.userName} could not all be disabled.`,
    blocks: [
      section(
        `:rotating_light: *You reported that you did not open these credentials* (opened ${at(openedAt)}).\n${where(link)}.`,
      ),
      context(
        done
          ? `${link.accessKeyId ? `Access key \`${link.accessKeyId}\` is inactive. ` : ''}${link.hasConsole ? 'Console sign-in is disabled. ' : ''}The approvers were alerted; ask ${user(link.requester)} for new credentials.`
          : 'The approvers were alerted, but I could not disable everything: they have been asked to do it by hand.',
      ),
    ],
  };
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

/** The recipient's original DM once the link expired unopened. */
export function credentialExpiredMessage(link: LinkFacts, expiresAt: number) {
  return {
    text: `The one-time link for ${link.userName} expired unopened.`,
    blocks: [
      section(
        `:hourglass: *This one-time link expired unopened* ${at(expiresAt)}.\n${esc(link.purpose)}\n${where(link)}.`,
      ),
      context(
        `The stored credentials were deleted${link.accessKeyId ? ' and the access key deactivated' : ''}; nobody saw them.`,
      ),
    ],
  };
}

/** The note to the recipient and the requester that a link expired unopened. */
export function credentialExpiredNotice(link: LinkFacts, expiresAt: number, keyDeactivated: boolean) {
  const key = !link.accessKeyId
    ? ''
    : keyDeactivated
      ? ` Access key \`${link.accessKeyId}\` was deactivated.`
      : ` Access key \`${link.accessKeyId}\` could not be deactivated yet; I will keep trying.`;
  return {
    text: `The one-time credential link for ${link.userName} (sent to ${link.recipient}) expired unopened.`,
    blocks: [
      section(
        `:hourglass: The one-time credential link for ${where(link)}, sent to ${user(link.recipient)}, expired unopened ${at(expiresAt)}.`,
      ),
      context(
        `The stored credentials were deleted.${key} If they are still needed, ask for new credentials (request \`${esc(link.requestId)}\`).`,
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
