import dynamoose from 'dynamoose';

type SchemaMethod = (this: object, ...args: unknown[]) => unknown;
interface SchemaProto {
  getAttributeValue: SchemaMethod;
  attributes: SchemaMethod;
  [CACHED]?: true;
}

const CACHED = Symbol.for('iam-slack-bot.dynamoose-schema-cache');

/**
 * Makes dynamoose 4.2's schema look-ups answer from a cache per schema: `attributes()` (every attribute path of the
 * schema, no item given) and `getAttributeValue(key)` (the schema entry at a path, found by walking the schema
 * object). dynamoose computes both anew on every call, several times per attribute of every item it reads or
 * writes: profiled, they were about a third of the CPU of an Approve click and of the worker's run (the request
 * schema is large). Both are pure functions of the schema, which dynamoose never changes once built, and both
 * already answered references into it (attributes() a new array, which no caller in dynamoose changes), so the
 * answers are the same. A call with an item or settings that depend on one (a type index map) is not cached.
 * Idempotent: patching twice patches once.
 */
export function cacheSchemaLookups(): void {
  const proto = dynamoose.Schema.prototype as unknown as SchemaProto;
  if (proto[CACHED]) return;
  proto[CACHED] = true;

  const getAttributeValue = proto.getAttributeValue;
  const values = new WeakMap<object, Map<string, unknown>>();
  proto.getAttributeValue = function (this: object, ...args: unknown[]) {
    const [key, settings] = args as [string, { standardKey?: boolean; typeIndexOptionMap?: unknown } | undefined];
    if (settings?.typeIndexOptionMap) return getAttributeValue.call(this, key, settings);
    // dynamoose reads `a.3.b` as `a.0.b` unless told the key is standard already: cache under that form.
    const standard = settings?.standardKey ? key : key.replace(/\.\d+/gu, '.0');
    let cache = values.get(this);
    if (!cache) {
      cache = new Map();
      values.set(this, cache);
    }
    if (cache.has(standard)) return cache.get(standard);
    const value = getAttributeValue.call(this, standard, { ...settings, standardKey: true });
    cache.set(standard, value);
    return value;
  };

  const attributes = proto.attributes;
  const lists = new WeakMap<object, unknown>();
  proto.attributes = function (this: object, ...args: unknown[]) {
    if (args[0] !== undefined || args[1] !== undefined) return attributes.apply(this, args);
    let list = lists.get(this);
    if (list === undefined) {
      list = Object.freeze(attributes.call(this) as string[]);
      lists.set(this, list);
    }
    return list;
  };
}
