import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobHandlers } from '../../src/jobs/registry.js';
import { LEASE_MS, WORKER_TIMEOUT_MS } from '../../src/jobs/worker.js';
import { startTestBot, type TestBot } from '../support/bot.js';

let bot: TestBot;
const effects: string[] = [];
let failNext = false;

beforeAll(async () => {
  bot = await startTestBot();
  jobHandlers['test-effect'] = async (_deps, payload) => {
    if (failNext) {
      failNext = false;
      throw new Error('injected failure');
    }
    effects.push(String(payload.label));
  };
});
afterAll(async () => {
  delete jobHandlers['test-effect'];
  await bot.stop();
});

describe('the job runner', () => {
  it('runs a job dispatched in-process after the dispatch call returns, and exactly once', async () => {
    await bot.dispatcher.dispatch({ id: 'job-a', type: 'test-effect', payload: { label: 'a' } });
    const ranBeforeDispatchReturned = effects.includes('a');
    await bot.drain();

    expect(ranBeforeDispatchReturned).toBe(false);
    expect(effects.filter((e) => e === 'a')).toHaveLength(1);
  });

  it('has one effect when the same job is delivered twice at the same time', async () => {
    const results = await Promise.all([
      bot.runJob({ id: 'job-b', type: 'test-effect', payload: { label: 'b' } }),
      bot.runJob({ id: 'job-b', type: 'test-effect', payload: { label: 'b' } }),
    ]);

    expect(results.sort()).toEqual(['done', 'skipped']);
    expect(effects.filter((e) => e === 'b')).toHaveLength(1);
  });

  it('lets a retry run a job whose first run failed', async () => {
    failNext = true;
    await expect(bot.runJob({ id: 'job-c', type: 'test-effect', payload: { label: 'c' } })).rejects.toThrow(
      'injected failure',
    );
    expect((await bot.deps.store.jobs.get('job-c'))?.status).toBe('failed');

    const retry = await bot.runJob({ id: 'job-c', type: 'test-effect', payload: { label: 'c' } });

    expect(retry).toBe('done');
    expect(effects.filter((e) => e === 'c')).toHaveLength(1);
  });

  it('lets Lambda’s retry run a job whose first run timed out (claimed, never finished)', async () => {
    // The first delivery claimed the job, then its Lambda timed out; Lambda retries the event a minute later.
    await bot.deps.store.jobs.claim('job-d', 'test-effect', bot.clock.now(), LEASE_MS);
    bot.clock.advance(WORKER_TIMEOUT_MS + 60_000);

    const retry = await bot.runJob({ id: 'job-d', type: 'test-effect', payload: { label: 'd' } });

    expect(retry).toBe('done');
    expect(effects.filter((e) => e === 'd')).toHaveLength(1);
  });

  it('refuses a job of an unknown type or a malformed job', async () => {
    await expect(bot.runJob({ id: 'x', type: 'nope', payload: {} })).rejects.toThrow('Unknown job type nope');
    await expect(bot.runJob({ type: 'test-effect' })).rejects.toThrow();
  });
});
