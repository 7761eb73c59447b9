import * as z from 'zod/mini';
import type { Deps } from '../deps.js';
import { sendComplianceReport } from '../services/report.js';

const payloadSchema = z.object({ user: z.string().check(z.minLength(1)), account: z.optional(z.string()) });

/** Builds the compliance report and DMs it with its CSV to the approver who asked (see sendComplianceReport). */
export async function reportJob(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  const { user, account } = payloadSchema.parse(payload);
  await sendComplianceReport(deps, user, account);
}
