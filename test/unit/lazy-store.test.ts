import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { lazyStore } from '../../src/store/lazy.js';

/** A stand-in store: only the shape lazyStore forwards to matters here (the real one is tested against moto). */
function fakeStore(calls: string[]): Store {
  const jobs = {
    model: { name: 'jobs-model' },
    async get(this: unknown, id: string) {
      calls.push(`get ${id} ${this === jobs}`);
      return { id };
    },
  };
  return { jobs } as unknown as Store;
}

describe('lazyStore', () => {
  it('loads nothing until a repository method is called, then loads once for concurrent calls', async () => {
    const calls: string[] = [];
    let loads = 0;
    const lazy = lazyStore(async () => {
      loads++;
      return fakeStore(calls);
    });

    const get = lazy.store.jobs.get;
    expect(loads).toBe(0);
    expect(lazy.loaded()).toBeUndefined();

    const results = await Promise.all([get('a'), lazy.store.jobs.get('b'), lazy.load()]);

    expect(loads).toBe(1);
    expect(results.slice(0, 2)).toEqual([{ id: 'a' }, { id: 'b' }]);
    expect(calls).toEqual(['get a true', 'get b true']); // called on the real repository, as `this`
    expect(lazy.loaded()).toBeDefined();
  });

  it('refuses to hand out a model before loading, and hands out the real one after', async () => {
    const lazy = lazyStore(async () => fakeStore([]));

    expect(() => lazy.store.jobs.model).toThrow(/before the store is loaded/);
    await lazy.load();
    expect(lazy.store.jobs.model).toEqual({ name: 'jobs-model' });
  });

  it('is not a thenable, so awaiting a repository loads nothing', async () => {
    let loads = 0;
    const lazy = lazyStore(async () => {
      loads++;
      return fakeStore([]);
    });

    await lazy.store.jobs;
    await lazy.store;

    expect(loads).toBe(0);
  });

  it('tries again on the next call when loading failed', async () => {
    let attempt = 0;
    const lazy = lazyStore(async () => {
      attempt++;
      if (attempt === 1) throw new Error('no network');
      return fakeStore([]);
    });

    await expect(lazy.store.jobs.get('x')).rejects.toThrow('no network');
    await expect(lazy.store.jobs.get('x')).resolves.toEqual({ id: 'x' });
    expect(attempt).toBe(2);
  });
});
