import dynamoose from 'dynamoose';
import { describe, expect, it } from 'vitest';
import { cacheSchemaLookups } from '../../src/store/schema-cache.js';

/** A schema shaped like the request table's: nested objects, lists of objects, string lists. */
const schemaDefinition = () => ({
  id: { type: String, hashKey: true },
  status: String,
  groups: { type: Array, schema: [String] },
  approvals: { type: Array, schema: [{ type: Object, schema: { user: String, at: String } }] },
  offboard: {
    type: Object,
    schema: {
      member: String,
      users: {
        type: Array,
        schema: [
          { type: Object, schema: { userName: String, keys: { type: Array, schema: [String] }, console: Boolean } },
        ],
      },
    },
  },
  version: Number,
});

const item = {
  id: 'req-1',
  status: 'pending',
  groups: ['ci-deployers', 'read-only'],
  approvals: [
    { user: 'U1', at: '2026-01-01T00:00:00.000Z' },
    { user: 'U2', at: '2026-01-01T00:01:00.000Z' },
  ],
  offboard: {
    member: 'U9',
    users: [
      { userName: 'a', keys: ['AKIA1', 'AKIA2'], console: true },
      { userName: 'b', keys: [], console: false },
    ],
  },
  version: 3,
};

/** What dynamoose makes of the schema and of one item: its paths, the entries at some paths, the item in and out. */
async function lookups(name: string) {
  const schema = new dynamoose.Schema(schemaDefinition());
  const Model = dynamoose.model(name, schema, { create: false, waitForActive: false, initialize: false });
  const paths = schema.attributes();
  const types = ['approvals.1.user', 'offboard.users.7.keys.2', 'offboard.users.0.console', 'version'].map((key) =>
    schema.getAttributeType(key),
  );
  const toDynamo = await new Model(item).toDynamo();
  const plain = dynamoose.aws.converter().unmarshall(toDynamo as never);
  const back = (await new Model(plain).conformToSchema({ type: 'fromDynamo' } as never)).toJSON();
  return { schema, paths: [...paths], types, toDynamo, back };
}

describe('cacheSchemaLookups', () => {
  it('answers the schema paths, attribute types and item conversions dynamoose answers without it', async () => {
    // Prepare: dynamoose's own answers, before the cache is in place
    const before = await lookups('before');

    // Act
    cacheSchemaLookups();
    cacheSchemaLookups(); // twice is once
    const first = await lookups('after');
    const second = await lookups('after-again');

    // Assess
    for (const after of [first, second]) {
      expect(after.paths).toEqual(before.paths);
      expect(after.types).toEqual(before.types);
      expect(after.toDynamo).toEqual(before.toDynamo);
      expect(after.back).toEqual(before.back);
    }
    expect(first.back).toMatchObject(item);
  });

  it('walks a schema for its attribute paths once, however many items go through it', () => {
    // Prepare
    cacheSchemaLookups();
    const schema = new dynamoose.Schema(schemaDefinition());

    // Act
    const first = schema.attributes();
    const second = schema.attributes();

    // Assess: the same list, which no caller can change (dynamoose 4.2 built a new one on each call)
    expect(second).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(first).toContain('offboard.users.0.keys.0');
  });
});
