import * as z from 'zod/mini';
import type { Deps } from '../deps.js';
import { subcommands } from '../listeners/commands/index.js';
import { publishHome } from '../services/home.js';

const payloadSchema = z.object({ user: z.string().check(z.minLength(1)) });

/** Publishes a person's App Home (see publishHome). */
export async function publishHomeJob(deps: Deps, payload: Record<string, unknown>): Promise<void> {
  const { user } = payloadSchema.parse(payload);
  await publishHome(deps, user, [...subcommands]);
}
