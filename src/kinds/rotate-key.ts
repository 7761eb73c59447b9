/**
 * rotate-key: a new access key by one-time link, the old one retired after the grace period. Its run lives in
 * src/kinds/rotate-key/ (worker only, not imported here).
 */
import { rotationStartedMessage } from '../blocks/rotation.js';
import { esc } from '../blocks/text.js';
import type { AccessRequest, RotationState } from '../store/requests.js';
import { changeKind } from './change.js';
import { rotationAtOnceAnswer, verifyRotation } from './rotate-key/check.js';
import { storeRotation } from './rotate-key/reserve.js';
import type { ReissueHook } from './types.js';

const DAY = 86_400_000;
/**
 * How long the scheduled task leaves a rotation alone while the worker replaces its key: rotation.ts's STEP_LEASE_MS.
 * Not imported: rotation.ts imports the request life cycle, which imports the registry (an import cycle).
 */
const STEP_LEASE_MS = 5 * 60_000;
const withRotation = (request: AccessRequest, changes: Partial<RotationState>): RotationState => ({
  ...(request.rotation as RotationState),
  ...changes,
});
const iso = (now: Date, ms: number) => new Date(now.getTime() + ms).toISOString();

/**
 * A rotation's new key may be sent again while the rotation waits in its grace period (or was cancelled before the
 * old key was touched); the undelivered key is the rotation's own record of it; a new delivery starts the grace
 * period again from now, and the owner is told so.
 */
const reissue: ReissueHook = {
  refusal: (request) =>
    ['grace', 'cancelled'].includes(request.rotation?.phase ?? '')
      ? undefined
      : `The rotation \`${request.id}\` is past its delivery (${request.rotation?.phase}).`,
  // the scheduled task leaves a rotation alone while the worker replaces its key
  asked: (request, now) => ({ rotation: withRotation(request, { nextAt: iso(now, STEP_LEASE_MS) }) }),
  undeliveredKey: (request) => request.rotation?.newKeyId,
  delivered: (request, { newKeyId, linkExpiresAt, now, policy }) => ({
    rotation: withRotation(request, {
      newKeyId,
      phase: 'grace',
      deliveredAt: now.toISOString(),
      graceEndsAt: iso(now, policy.keys.rotationGraceDays * DAY),
      nextAt: now.toISOString(),
      linkExpiresAt: linkExpiresAt.toISOString(),
    }),
  }),
  told: (request: AccessRequest) => [{ to: request.recipient, message: rotationStartedMessage(request) }],
};

export const rotateKey = {
  ...changeKind('rotate-key', {
    command: {
      summary:
        "rotates an access key: a new key by one-time link, the old one deactivated after the grace period and deleted after the recovery period; at once for the user's owner, else after approval.",
      usage: '/iam rotate-key <iam-user> [key-id] [--account name]',
      example: '/iam rotate-key build-bot',
    },
    // one rotation of a user at a time: its `rotation#` pointer, stored with the request
    store: storeRotation,
    // `/iam rotate-key` stores the rotation before asking IAM: the worker asks it before posting (verifyRotation)
    verify: verifyRotation,
    render: {
      // The command's one answer when the worker found that the requester owns the user (a retry gives it again).
      atOnce: rotationAtOnceAnswer,
      // The command's one answer once the rotation is posted for approval (`/iam rotate-key` is acked with no message).
      waiting: (request, channel) =>
        `Your rotation \`${request.id}\` of access key \`${request.rotation?.oldKeyId ?? ''}\` of \`${esc(request.userName)}\` is waiting for approval in <#${channel}>. The new key goes to <@${request.recipient}>.`,
    },
  }),
  reissue,
};
