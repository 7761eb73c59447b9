import dynamoose from 'dynamoose';

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

/** Epoch seconds, for DynamoDB TTL attributes. */
export const epochSeconds = (d: Date): number => Math.floor(d.getTime() / 1000);
