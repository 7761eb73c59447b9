/**
 * Durations as the policy and the commands write them (`90m`, `4h`, `2d`), and their schema: imported by src/config.ts
 * and by the kinds' policy fields (src/kinds/policy.ts), which config.ts merges, so neither imports the other.
 */
import * as z from 'zod/mini';

/** A duration as the policy and the commands write it: `90m`, `4h`, `2d` (at most 30 days). */
export const DURATION = /^([1-9][0-9]{0,4})([mhd])$/;
/** Milliseconds of a duration (`4h`), or undefined when it is not one or is longer than 30 days. */
export function durationMs(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'];
  return ms <= 30 * 86_400_000 ? ms : undefined;
}
/** A policy field holding a duration. */
export const duration = z
  .string()
  .check(z.refine((v) => durationMs(v) !== undefined, 'must be a duration like 90m, 4h or 2d, at most 30 days'));
