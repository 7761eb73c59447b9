import dynamoose from 'dynamoose';

export interface StoreOptions {
  region: string;
  endpoint?: string | undefined;
  /** Prepended to every table name, e.g. `iam-slack-bot-dev-`. */
  prefix: string;
  /** Create missing tables lazily (local runs and tests). On Lambda the tables come from serverless.yml. */
  create: boolean;
  /** Called with the DynamoDB client dynamoose will use, e.g. to add SDK middleware (tests). */
  decorateClient?: (client: InstanceType<typeof dynamoose.aws.ddb.DynamoDB>) => void;
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
  options.decorateClient?.(client);
  dynamoose.aws.ddb.set(client);
}

/** True when a conditional write was refused because its condition did not hold. */
export function isConditionFailed(error: unknown): boolean {
  return (error as { name?: string } | null)?.name === 'ConditionalCheckFailedException';
}

/** Epoch seconds, for DynamoDB TTL attributes. */
export const epochSeconds = (d: Date): number => Math.floor(d.getTime() / 1000);
