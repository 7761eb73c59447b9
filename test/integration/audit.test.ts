/** The audit trail against moto: events of one subject come back all, in the order they were recorded. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBot, type TestBot } from '../support/bot.js';

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot();
});
afterAll(async () => {
  await bot.stop();
});

describe('the audit trail', () => {
  it('keeps 25 events recorded in the same millisecond, in the order they were recorded', async () => {
    const at = new Date('2026-11-22T10:00:00.123Z');
    for (let i = 0; i < 25; i++) {
      await bot.deps.store.audit.record({ subject: 'test#same-ms', at, actor: 'U0A', action: `step-${i}`, detail: {} });
    }

    const events = await bot.deps.store.audit.list('test#same-ms');

    expect(events.map((e) => e.action)).toEqual(Array.from({ length: 25 }, (_, i) => `step-${i}`));
    expect(events.every((e) => e.at.startsWith('2026-11-22T10:00:00.123Z#'))).toBe(true);
  });

  it('orders events of different milliseconds by time, whatever order they were recorded in', async () => {
    const record = (iso: string, action: string) =>
      bot.deps.store.audit.record({ subject: 'test#times', at: new Date(iso), actor: 'system', action, detail: {} });
    await record('2026-11-22T10:00:00.500Z', 'second');
    await record('2026-11-22T10:00:00.100Z', 'first');
    await record('2026-11-22T10:00:00.500Z', 'third');

    const events = await bot.deps.store.audit.list('test#times');

    expect(events.map((e) => e.action)).toEqual(['first', 'second', 'third']);
  });
});
