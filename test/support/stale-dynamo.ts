/**
 * A DynamoDB that answers eventually consistent reads with stale data on purpose, as real DynamoDB may and moto never
 * does: SDK middleware on the store's client (StoreOptions.decorate) that, for a GetItem without ConsistentRead,
 * returns the version of the item from before its last write, or nothing for an item that did not exist before it.
 * Consistent reads, queries and writes go through unchanged. Deterministic: every eventually consistent read of an
 * item written since the wrapper was installed is stale, the worst case real DynamoDB allows for a moment.
 */

import { type AttributeValue, DescribeTableCommand, type DynamoDB, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { outsideFunctions } from './role-checker.js';

type Key = Record<string, AttributeValue>;
type Handler = (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>;
interface MiddlewareClient {
  middlewareStack: {
    add(
      middleware: (next: Handler, context: { commandName?: string }) => Handler,
      options: { step: 'initialize'; name: string; priority?: 'high' | 'low' },
    ): void;
  };
}

export interface StaleReads {
  /** Installs the wrapper on the store's client (pass as TestBotOptions.decorateDynamo). */
  decorate(client: unknown): void;
  /** Eventually consistent reads answered with an older version (or "not found") so far. */
  readonly staleAnswers: number;
}

/** A stale-read wrapper for one DynamoDB client. */
export function staleReads(): StaleReads {
  /** The version of each item before its last write (null: it did not exist), by table and key. */
  const previous = new Map<string, Record<string, AttributeValue> | null>();
  const keySchemas = new Map<string, Promise<string[]>>();
  let staleAnswers = 0;
  let ddb: DynamoDB;

  const id = (table: string, key: Key) =>
    `${table}|${JSON.stringify(Object.entries(key).sort(([a], [b]) => a.localeCompare(b)))}`;
  const keyAttributes = (table: string) => {
    let names = keySchemas.get(table);
    if (!names) {
      names = outsideFunctions(() => ddb.send(new DescribeTableCommand({ TableName: table }))).then((t) =>
        (t.Table?.KeySchema ?? []).map((k) => k.AttributeName ?? ''),
      );
      keySchemas.set(table, names);
    }
    return names;
  };
  const keyOfItem = async (table: string, item: Key): Promise<Key> =>
    Object.fromEntries((await keyAttributes(table)).map((name) => [name, item[name] as AttributeValue]));

  /** The items a write command changes: table and key of each. */
  async function written(command: string, input: Record<string, unknown>): Promise<{ table: string; key: Key }[]> {
    const one = (i: Record<string, unknown>) => ({ table: String(i.TableName), key: i.Key as Key });
    if (command === 'PutItemCommand')
      return [{ table: String(input.TableName), key: await keyOfItem(String(input.TableName), input.Item as Key) }];
    if (command === 'UpdateItemCommand' || command === 'DeleteItemCommand') return [one(input)];
    if (command === 'TransactWriteItemsCommand') {
      const out: { table: string; key: Key }[] = [];
      for (const t of input.TransactItems as Record<string, Record<string, unknown>>[]) {
        if (t.Put)
          out.push({
            table: String(t.Put.TableName),
            key: await keyOfItem(String(t.Put.TableName), t.Put.Item as Key),
          });
        if (t.Update) out.push(one(t.Update));
        if (t.Delete) out.push(one(t.Delete));
      }
      return out;
    }
    return [];
  }

  return {
    get staleAnswers() {
      return staleAnswers;
    },
    decorate(client: unknown) {
      ddb = client as DynamoDB;
      (client as MiddlewareClient).middlewareStack.add(
        (next, context) => async (args) => {
          const command = context.commandName ?? '';
          const input = args.input;
          if (command === 'GetItemCommand' && !input.ConsistentRead) {
            const k = id(String(input.TableName), input.Key as Key);
            if (previous.has(k)) {
              staleAnswers++;
              const old = previous.get(k);
              return { output: { ...(old ? { Item: old } : {}), $metadata: {} } } as never;
            }
          }
          const items = await written(command, input);
          const before = await Promise.all(
            items.map(({ table, key }) =>
              // The test's own reads, not the bot's: not checked against the bot's roles.
              outsideFunctions(() =>
                ddb.send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true })),
              ),
            ),
          );
          const result = await next(args);
          items.forEach(({ table, key }, i) => {
            previous.set(id(table, key), before[i]?.Item ?? null);
          });
          return result;
        },
        { step: 'initialize', name: 'staleReads', priority: 'high' },
      );
    },
  };
}
