import type * as z from 'zod/mini';

/**
 * A button's JSON value as the bot rendered it, checked against `schema`; undefined for anything else (not JSON, or
 * not that shape). It only names things: what the click may do is decided from stored state.
 */
export function parseButtonValue<S extends z.ZodMiniType>(schema: S, raw: string | undefined): z.infer<S> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw ?? '');
  } catch {
    return undefined;
  }
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
