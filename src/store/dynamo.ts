import dynamoose from 'dynamoose';
import { cacheSchemaLookups } from './schema-cache.js';

export interface StoreOptions {
  region: string;
  endpoint?: string | undefined;
  /** Prepended to every table name, e.g. `iam-slack-bot-dev-`. */
  prefix: string;
  /** Create missing tables lazily (local runs and tests). On Lambda the tables come from serverless.yml. */
  create: boolean;
  /** Called once with the DynamoDB client before dynamoose uses it, e.g. to add SDK middleware (tests). */
  decorate?: ((client: InstanceType<typeof dynamoose.aws.ddb.DynamoDB>) => void) | undefined;
}

/** Table options shared by every model, from the store options. */
export function tableOptions(options: StoreOptions) {
  return {
    prefix: options.prefix,
    create: options.create,
    waitForActive: false,
    throughput: 'ON_DEMAND' as const,
    initialize: true,
  };
}

/** Points dynamoose at DynamoDB (or the local emulator). Call once, before building models. */
export function connectDynamo(options: StoreOptions): void {
  cacheSchemaLookups();
  const client = new dynamoose.aws.ddb.DynamoDB({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  });
  options.decorate?.(client);
  dynamoose.aws.ddb.set(client);
}

/**
 * True when a conditional write was refused because its condition did not hold: a single write's
 * ConditionalCheckFailedException, or a transaction cancelled because one of its conditions failed.
 */
export function isConditionFailed(error: unknown): boolean {
  const e = error as { name?: string; CancellationReasons?: { Code?: string }[] } | null;
  if (e?.name === 'ConditionalCheckFailedException') return true;
  return (
    e?.name === 'TransactionCanceledException' &&
    (e.CancellationReasons ?? []).some((r) => r.Code === 'ConditionalCheckFailed')
  );
}

/**
 * True when DynamoDB cancelled a transaction because another transaction or write on one of its items was under way
 * (reason `TransactionConflict`, and no condition failed), or refused a write for a transaction under way on its item
 * (TransactionConflictException). Nothing was written; the SDK does not retry either.
 */
export function isTransactionConflict(error: unknown): boolean {
  const e = error as { name?: string; CancellationReasons?: { Code?: string }[] } | null;
  if (e?.name === 'TransactionConflictException') return true;
  const reasons = (e?.CancellationReasons ?? []).map((r) => r.Code);
  return (
    e?.name === 'TransactionCanceledException' &&
    reasons.includes('TransactionConflict') &&
    !reasons.includes('ConditionalCheckFailed')
  );
}

/** What dynamoose.transaction takes. */
export type TransactionItems = Parameters<typeof dynamoose.transaction>[0];

const CONFLICT_ATTEMPTS = 4;

/**
 * Writes the items in one transaction, as dynamoose.transaction does, and sends it again (up to 4 times in all, a
 * few random milliseconds apart) when DynamoDB cancelled it for a TransactionConflict: a cancelled transaction wrote
 * nothing, and sent again its conditions are checked against what the colliding one left, so a click that lost a race
 * gets the answer of a condition that failed (a refusal), not an error. Any other failure is thrown as it came.
 */
export async function transact(items: TransactionItems): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await dynamoose.transaction(items);
      return;
    } catch (error) {
      if (isConditionFailed(error) || !isTransactionConflict(error) || attempt >= CONFLICT_ATTEMPTS) throw error;
      await new Promise((r) => setTimeout(r, 5 + Math.floor(Math.random() * 20 * attempt)));
    }
  }
}

/** Epoch seconds, for DynamoDB TTL attributes. */
export const epochSeconds = (d: Date): number => Math.floor(d.getTime() / 1000);
