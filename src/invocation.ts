/**
 * When the current worker invocation started, on the injected clock (issue 20): a part's budget counts from there, not
 * from the moment a service starts its own loop, since everything the invocation did before (the job's claim, a
 * leaver's Slack check, a run's plan) spends the same 60 s of the worker's timeout.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const started = new AsyncLocalStorage<number>();

/** Runs `fn` as one invocation that started at `startedAt` (ms on the injected clock). */
export function inInvocation<T>(startedAt: number, fn: () => Promise<T>): Promise<T> {
  return started.run(startedAt, fn);
}

/** When the current invocation started (ms on the injected clock), or `fallback` outside of one. */
export function invocationStartedAt(fallback: number): number {
  return started.getStore() ?? fallback;
}
