/** Messages of a key rotation: pure functions of the stored request. */
import type { AccessRequest } from '../store/requests.js';
import { ROTATION_DELETE_FIRST, ROTATION_REACTIVATE, ROTATION_SWITCHED } from './ids.js';
import { context, esc, section, slackDate, user } from './text.js';

const code = (s: string) => `\`${esc(s)}\``;
const at = (iso: string | undefined) => (iso ? slackDate(new Date(iso)) : 'unknown');
const who = (r: AccessRequest) => `IAM user ${code(r.userName)} in *${esc(r.account)}* (${code(r.accountId)})`;
const button = (text: string, actionId: string, value: string, style?: 'primary' | 'danger') => ({
  type: 'button',
  text: { type: 'plain_text', text },
  action_id: actionId,
  value,
  ...(style ? { style } : {}),
});

/** The requester's reply when the user's other key is inactive: delete it first (a button), then rotate. */
export function offerDeleteFirstMessage(userName: string, keyId: string, inactiveKeyId: string, value: string) {
  const text = `IAM user ${code(userName)} already has two access keys (IAM's limit): ${code(keyId)} (active, the one to rotate) and ${code(inactiveKeyId)} (inactive). To rotate, I first delete the inactive key ${code(inactiveKeyId)}.`;
  return {
    text,
    blocks: [
      section(text),
      {
        type: 'actions',
        elements: [button(`Delete ${inactiveKeyId} and rotate`, ROTATION_DELETE_FIRST, value, 'danger')],
      },
    ],
  };
}

/** The owner's DM once the new key is delivered: the grace period, and "I've switched". */
export function rotationStartedMessage(r: AccessRequest) {
  const rot = r.rotation;
  const text = `A new access key ${code(rot?.newKeyId ?? '?')} for ${who(r)} is in your one-time link (separate DM). The old key ${code(rot?.oldKeyId ?? '?')} stays active until ${at(rot?.graceEndsAt)}; then I deactivate it.`;
  return {
    text,
    blocks: [
      section(`:arrows_counterclockwise: ${text}`),
      context(`Rotation \`${esc(r.id)}\`. Once your applications use the new key, deactivate the old one now.`),
      {
        type: 'actions',
        elements: [button("I've switched: deactivate the old key now", ROTATION_SWITCHED, r.id, 'primary')],
      },
    ],
  };
}

/** The owner's DM: the old key was used after the new key was delivered; deactivation waits one more grace period. */
export function stillInUseMessage(r: AccessRequest) {
  const rot = r.rotation;
  const use = rot?.lastUse;
  const text = `The old access key ${code(rot?.oldKeyId ?? '?')} of ${who(r)} was used after its replacement was delivered: last on ${at(use?.at)} by ${code(use?.service ?? 'unknown')} in ${code(use?.region ?? 'unknown')}. I deactivate it on ${at(rot?.graceEndsAt)} all the same: move what still uses it to the new key.`;
  return {
    text,
    blocks: [
      section(`:warning: ${text}`),
      { type: 'actions', elements: [button("I've switched: deactivate the old key now", ROTATION_SWITCHED, r.id)] },
    ],
  };
}

/** The approval channel (policy keys.stillInUse: escalate): the old key is still in use past the extra grace period. */
export function stillInUseEscalation(r: AccessRequest) {
  const use = r.rotation?.lastUse;
  const text = `:rotating_light: The old access key ${code(r.rotation?.oldKeyId ?? '?')} of ${who(r)} (owner ${user(r.recipient)}) is still in use after two grace periods (last on ${at(use?.at)} by ${code(use?.service ?? 'unknown')} in ${code(use?.region ?? 'unknown')}). The policy says to ask you instead of deactivating it: it stays active. Rotation \`${esc(r.id)}\`.`;
  return { text, blocks: [section(text)] };
}

/** The owner's DM once the old key is deactivated: Reactivate (once, until the recovery period ends). */
export function oldKeyDeactivatedMessage(r: AccessRequest) {
  const rot = r.rotation;
  const text = `The old access key ${code(rot?.oldKeyId ?? '?')} of ${who(r)} is now inactive. It is deleted on ${at(rot?.deleteAt)}.`;
  const blocks: unknown[] = [section(`:lock: ${text}`)];
  if (!rot?.reactivated) {
    blocks.push(context('If something broke, reactivate it (once, until it is deleted) and move it to the new key.'));
    blocks.push({ type: 'actions', elements: [button('Reactivate', ROTATION_REACTIVATE, r.id, 'danger')] });
  } else blocks.push(context('It was reactivated once already: it cannot be reactivated again.'));
  return { text, blocks };
}

/** The owner's DM once the old key is active again. */
export function oldKeyReactivatedMessage(r: AccessRequest) {
  const rot = r.rotation;
  const text = `The old access key ${code(rot?.oldKeyId ?? '?')} of ${who(r)} is active again, until ${at(rot?.graceEndsAt)}: then I deactivate it for good (no second reactivation).`;
  return {
    text,
    blocks: [
      section(`:unlock: ${text}`),
      { type: 'actions', elements: [button("I've switched: deactivate the old key now", ROTATION_SWITCHED, r.id)] },
    ],
  };
}

/** The owner's DM once the old key is deleted. */
export function oldKeyDeletedMessage(r: AccessRequest) {
  const text = `The old access key ${code(r.rotation?.oldKeyId ?? '?')} of ${who(r)} is deleted: the rotation is complete. ${code(r.rotation?.newKeyId ?? '?')} is the user's key now.`;
  return { text, blocks: [section(`:white_check_mark: ${text}`)] };
}

/** The owner's DM when the new key's link expired unopened: the new key is gone, the old key is as it was. */
export function rotationCancelledMessage(r: AccessRequest) {
  const text = `The one-time link with the new access key of ${who(r)} was not opened in time, so the new key ${code(r.rotation?.newKeyId ?? '?')} is deactivated and deleted. The old key ${code(r.rotation?.oldKeyId ?? '?')} is untouched. Rotate again with \`/iam rotate-key ${esc(r.userName)}\`.`;
  return { text, blocks: [section(`:hourglass: ${text}`)] };
}

/** The owner's DM when the old key, or the whole IAM user, was deleted outside the bot: the rotation ends there. */
export function oldKeyGoneMessage(r: AccessRequest) {
  const rot = r.rotation;
  const text =
    rot?.gone === 'user'
      ? `IAM user ${code(r.userName)} in *${esc(r.account)}* (${code(r.accountId)}) was deleted outside the bot, with its keys: the rotation of its access key ${code(rot?.oldKeyId ?? '?')} ends here.`
      : `The old access key ${code(rot?.oldKeyId ?? '?')} of ${who(r)} was deleted outside the bot: the rotation is complete. ${code(rot?.newKeyId ?? '?')} is the user's key now.`;
  return { text, blocks: [section(`:white_check_mark: ${text}`), context(`Rotation \`${esc(r.id)}\`.`)] };
}
