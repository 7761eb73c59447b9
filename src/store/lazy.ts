import type { Store } from './index.js';

/** A Store that loads on first use, and what tells whether it has. */
export interface LazyStore {
  store: Store;
  /** Loads the store now (at most once); resolves to the real one. */
  load(): Promise<Store>;
  /** The real store once loaded, else undefined. */
  loaded(): Store | undefined;
}

/**
 * A Store whose code (dynamoose, the DynamoDB client and the models: about a third of the Slack function's
 * module initialisation) loads on the first call of a repository method, not at cold start. `/iam help`, unknown
 * subcommands, App Home and the `/iam whoami` ack never touch DynamoDB, so they never pay for it.
 *
 * Every repository method is async, so until the store is loaded `store.<repo>.<method>(...)` returns a promise that
 * loads it, then calls the real method. Once loaded, `store.<repo>` is the real repository. Anything that is not a
 * method (a repository's `model`) can be read only once loaded: before, reading it throws, naming `load()`.
 */
export function lazyStore(load: () => Promise<Store>): LazyStore {
  let real: Store | undefined;
  let loading: Promise<Store> | undefined;
  const ensure = (): Promise<Store> => {
    loading ??= load().then(
      (store) => {
        real = store;
        return store;
      },
      (error: unknown) => {
        loading = undefined; // let the next call try again
        throw error;
      },
    );
    return loading;
  };

  const repositories = new Map<PropertyKey, unknown>();
  const repositoryProxy = (repo: keyof Store) =>
    new Proxy(
      {},
      {
        get(_target, member) {
          if (real) return Reflect.get(real[repo], member);
          if (member === 'then') return undefined; // not a thenable: `await store.jobs` must not call anything
          if (member === 'model' || typeof member === 'symbol') {
            throw new Error(`store.${repo}.${String(member)} is read before the store is loaded: await load() first`);
          }
          return async (...args: unknown[]) => {
            const repository = (await ensure())[repo] as unknown as Record<PropertyKey, unknown>;
            const method = repository[member];
            if (typeof method !== 'function') throw new TypeError(`store.${repo}.${String(member)} is not a method`);
            return method.apply(repository, args);
          };
        },
      },
    );

  const store = new Proxy({} as Store, {
    get(_target, repo) {
      if (real) return Reflect.get(real, repo);
      if (typeof repo !== 'string' || repo === 'then') return undefined;
      let proxy = repositories.get(repo);
      if (!proxy) {
        proxy = repositoryProxy(repo as keyof Store);
        repositories.set(repo, proxy);
      }
      return proxy;
    },
  });

  return { store, load: ensure, loaded: () => real };
}
