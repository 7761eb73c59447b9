import * as z from 'zod/mini';
import { slackDate } from '../blocks/text.js';
import type { Deps } from '../deps.js';
import { answerRotation } from '../listeners/commands/rotate-key.js';

const rotateSchema = z.object({
  account: z.string(),
  userName: z.string(),
  keyId: z.string(),
  requester: z.string(),
  channel: z.string(),
  responseUrl: z.string(),
});

/**
 * "Rotate now" in a key reminder, after the Slack function re-authorized the click: the rotation starts exactly as
 * `/iam rotate-key <user> <key-id>` typed by the clicker would (the same checks against IAM, the same approval rules),
 * and the clicker gets the same answer.
 */
export async function keyRotateNowJob(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  const p = rotateSchema.parse(payload);
  const answer = await answerRotation(
    deps,
    p.requester,
    { userName: p.userName, keyId: p.keyId, account: p.account },
    p.channel,
  );
  await deps.messenger.respond(p.responseUrl, answer);
}

const snoozedSchema = z.object({
  userName: z.string(),
  until: z.string(),
  already: z.boolean(),
  responseUrl: z.string(),
});

/** Tells the clicker a key's reminders are snoozed, and until when. */
export async function keySnoozedJob(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  const p = snoozedSchema.parse(payload);
  const when = slackDate(new Date(p.until));
  await deps.messenger.respond(p.responseUrl, {
    text: p.already
      ? `The reminders of this key of \`${p.userName}\` are snoozed already, until ${when}.`
      : `Snoozed: no reminder about this key of \`${p.userName}\` until ${when}.`,
  });
}
