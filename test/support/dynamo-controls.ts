/**
 * What DynamoDB does that DynamoDB Local does not do by itself, as test controls:
 * - `expireItems`: deletes the items whose `ttl` (epoch seconds) is past on the test clock, as DynamoDB's TTL does
 *   "typically within a few days" of it (DynamoDB Local keeps them; so did moto).
 * - `TransactionConflicts`: cancels the next TransactWriteItems that touches a given item with reason
 *   `TransactionConflict`, as DynamoDB does when two transactions (or a transaction and a write) collide on an item.
 *   DynamoDB Local applies colliding transactions one after the other (measured: 20 concurrent TransactWriteItems
 *   updating one item all succeeded), so it never answers TransactionConflict. NOT a mock of DynamoDB: the cancelled
 *   transaction is never sent, as DynamoDB writes nothing of a cancelled one, and `during` runs the competing work
 *   first, so the item really was changed by someone else, as in the race the cancellation reports.
 */
import {
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ScanCommand,
  TransactionCanceledException,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import type { TestBot } from './bot.js';

type AttributeMap = Record<string, import('@aws-sdk/client-dynamodb').AttributeValue>;

/** An expired item that was deleted: its table (without the bot's prefix) and key. */
export interface ExpiredItem {
  table: string;
  key: AttributeMap;
}

/**
 * Deletes every item of the bot's tables whose `ttl` is at or before `now` (default: the bot's clock), as DynamoDB's
 * TTL process does (its deletes bypass conditions and the bot's role: they are DynamoDB's own). Returns what went.
 */
export async function expireItems(
  bot: Pick<TestBot, 'dynamo' | 'clock'>,
  now = bot.clock.now(),
): Promise<ExpiredItem[]> {
  const nowS = Math.floor(now.getTime() / 1000);
  const ddb = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: bot.dynamo.url,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  const gone: ExpiredItem[] = [];
  try {
    const tables: string[] = [];
    let from: string | undefined;
    do {
      const page = await ddb.send(new ListTablesCommand({ ExclusiveStartTableName: from }));
      tables.push(...(page.TableNames ?? []).filter((t) => t.startsWith(bot.dynamo.tablePrefix)));
      from = page.LastEvaluatedTableName;
    } while (from);
    for (const table of tables) {
      const { Table } = await ddb.send(new DescribeTableCommand({ TableName: table }));
      const keyNames = (Table?.KeySchema ?? []).map((k) => k.AttributeName as string);
      let start: AttributeMap | undefined;
      do {
        const scan = await ddb.send(
          new ScanCommand({
            TableName: table,
            ConsistentRead: true,
            FilterExpression: '#ttl <= :now',
            ExpressionAttributeNames: { '#ttl': 'ttl' },
            ExpressionAttributeValues: { ':now': { N: String(nowS) } },
            ExclusiveStartKey: start,
          }),
        );
        for (const item of scan.Items ?? []) {
          const key = Object.fromEntries(keyNames.map((k) => [k, item[k]])) as AttributeMap;
          await ddb.send(new DeleteItemCommand({ TableName: table, Key: key }));
          gone.push({ table: table.slice(bot.dynamo.tablePrefix.length), key });
        }
        start = scan.LastEvaluatedKey;
      } while (start);
    }
  } finally {
    ddb.destroy();
  }
  return gone;
}

/** Which item a transaction must touch to be cancelled: its table (without the bot's prefix) and key attributes. */
export interface ItemMatch {
  table: string;
  /** Key attributes and their string values, e.g. `{ id: 'req-1' }` (every one given must match). */
  key: Record<string, string>;
}

interface Armed {
  match: ItemMatch;
  during?: () => Promise<unknown>;
  fired: (value: { reasons: string[] }) => void;
}

type Middlewared = {
  middlewareStack: {
    add(
      mw: (
        next: (args: unknown) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: unknown) => Promise<unknown>,
      options: { step: 'initialize'; name: string; priority?: 'high' },
    ): void;
  };
};

/**
 * Cancels transactions on demand with reason TransactionConflict. `decorate` goes on the bot's DynamoDB client
 * (startTestBot's `decorateDynamo`); `next` arms one cancellation.
 */
export class TransactionConflicts {
  #armed: Armed[] = [];
  #prefix = () => '';

  /** The bot's table prefix (set once the bot exists: `conflicts.forBot(bot)`). */
  forBot(bot: Pick<TestBot, 'dynamo'>): this {
    this.#prefix = () => bot.dynamo.tablePrefix;
    return this;
  }

  readonly decorate = (client: unknown): void => {
    (client as Middlewared).middlewareStack.add(
      (next, context) => async (args) => {
        const input = (args as { input?: { TransactItems?: TransactWriteItem[] } }).input;
        if (context.commandName !== 'TransactWriteItemsCommand' || !input?.TransactItems) return next(args);
        const items = input.TransactItems;
        const hit = this.#armed.findIndex((a) => items.some((item) => this.#touches(item, a.match)));
        if (hit < 0) return next(args);
        const [armed] = this.#armed.splice(hit, 1);
        if (!armed) return next(args);
        // The competing work runs first and completes: this transaction collided with it.
        await armed.during?.();
        const reasons = items.map((item) => (this.#touches(item, armed.match) ? 'TransactionConflict' : 'None'));
        armed.fired({ reasons });
        throw new TransactionCanceledException({
          message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.join(', ')}]`,
          $metadata: { httpStatusCode: 400 },
          CancellationReasons: reasons.map((Code) =>
            Code === 'TransactionConflict'
              ? { Code, Message: 'Transaction is ongoing for the item' }
              : { Code, Message: undefined },
          ),
        });
      },
      { step: 'initialize', name: 'testTransactionConflicts', priority: 'high' },
    );
  };

  /**
   * Cancels the next TransactWriteItems that touches the item, with TransactionConflict on it (None on the others),
   * after running `during` (the competing work that won). Resolves with the reasons once it fired.
   */
  next(match: ItemMatch, during?: () => Promise<unknown>): Promise<{ reasons: string[] }> {
    return new Promise((fired) => {
      this.#armed.push({ match, ...(during ? { during } : {}), fired });
    });
  }

  /** How many armed cancellations have not fired. */
  get pending(): number {
    return this.#armed.length;
  }

  #touches(item: TransactWriteItem, match: ItemMatch): boolean {
    const op = item.Put ?? item.Update ?? item.Delete ?? item.ConditionCheck;
    if (!op || op.TableName !== `${this.#prefix()}${match.table}`) return false;
    const key = (item.Put ? item.Put.Item : (op as { Key?: AttributeMap }).Key) ?? {};
    return Object.entries(match.key).every(([k, v]) => key[k]?.S === v || key[k]?.N === v);
  }
}
