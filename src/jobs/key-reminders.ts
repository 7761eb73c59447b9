import * as z from 'zod/mini';
import { slackDate } from '../blocks/text.js';
import type { Deps } from '../deps.js';
import { answerRotation } from '../services/rotate-key-answer.js';
import { publishHomeJob } from './publish-home.js';

const rotateSchema = z.object({
  account: z.string(),
  userName: z.string(),
  keyId: z.string(),
  requester: z.string(),
  channel: z.string(),
  // absent for a click in the App Home: the answer goes to the clicker's DM
  responseUrl: z.optional(z.string()),
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
  if (p.responseUrl) await deps.messenger.respond(p.responseUrl, answer);
  else await deps.messenger.post(p.requester, answer);
}

const snoozedSchema = z.object({
  userName: z.string(),
  until: z.string(),
  already: z.boolean(),
  clicker: z.optional(z.string()),
  fromHome: z.optional(z.boolean()),
  responseUrl: z.optional(z.string()),
});

/** Tells the clicker a key's reminders are snoozed, and until when. */
export async function keySnoozedJob(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  const p = snoozedSchema.parse(payload);
  const when = slackDate(new Date(p.until));
  const answer = {
    text: p.already
      ? `The reminders of this key of \`${p.userName}\` are snoozed already, until ${when}.`
      : `Snoozed: no reminder about this key of \`${p.userName}\` until ${when}.`,
  };
  if (p.responseUrl) await deps.messenger.respond(p.responseUrl, answer);
  else if (p.clicker) await deps.messenger.post(p.clicker, answer);
  // clicked in the App Home: the tab shows the snooze at once
  if (p.fromHome && p.clicker) await publishHomeJob(deps, { user: p.clicker });
}
