/**
 * Lambda as the simulated company runs it (`npm run bench -- org`), on the virtual clock: every invocation of the
 * schedule and worker functions runs in this process with its own context (which task started it, how many
 * invocations deep it is); one still running at its function's timeout is killed (each simulated call it makes after
 * that never returns, as a frozen sandbox), and a failed or killed asynchronous invocation is retried twice, one and
 * two minutes later (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html), then its
 * record goes to the on-failure queue.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Job, JobDispatcher } from '../../src/jobs/types.js';
import type { VirtualTime } from './virtual-time.js';

/** The invocation a simulated call belongs to. */
export interface Invocation {
  id: number;
  fn: string;
  /** The scheduled task whose work this is (a worker job inherits its dispatcher's). */
  task: string;
  /** Invocations between the schedule (0) and this one: a chain of continuations is one deeper per hop. */
  depth: number;
  label: string;
  attempt: number;
  start: number;
  end?: number;
  outcome?: 'done' | 'failed' | 'timeout';
  dead: boolean;
}

/** Latency of an asynchronous Invoke as the caller sees it (assumed: the call returns once the event is queued). */
export const INVOKE_MS = 25;
/** Lambda's waits before the second and third attempt of an asynchronous invocation. */
export const RETRY_WAITS_MS = [60_000, 120_000];

export class LambdaModel {
  readonly #als = new AsyncLocalStorage<{ inv: Invocation; task: string }>();
  readonly invocations: Invocation[] = [];
  readonly onFailure: { fn: string; label: string; task: string }[] = [];
  #seq = 0;

  readonly #functions = new Map<string, { timeoutMs: number; handler: (event: unknown) => Promise<unknown> }>();

  constructor(private readonly vt: VirtualTime) {}

  /** A function: its timeout and its handler. */
  define(fn: string, def: { timeoutMs: number; handler: (event: unknown) => Promise<unknown> }): void {
    this.#functions.set(fn, def);
  }

  /** The invocation running now (undefined outside any: the bench's own setup). */
  current(): Invocation | undefined {
    return this.#als.getStore()?.inv;
  }

  /** The task the current work is for ('setup' outside any invocation). */
  task(): string {
    return this.#als.getStore()?.task ?? 'setup';
  }

  /** A promise that never settles when the caller's invocation was killed (its sandbox is frozen). */
  async gate(): Promise<void> {
    if (this.current()?.dead) await new Promise<never>(() => {});
  }

  /** An asynchronous invocation (EventBridge's of the schedule, InvokeCommand with `Event` of the worker). */
  invoke(fn: string, event: unknown, from: { task: string; depth: number; label: string }, attempt = 1): void {
    const def = this.#functions.get(fn);
    if (!def) throw new Error(`no function ${fn}`);
    const inv: Invocation = {
      id: ++this.#seq,
      fn,
      task: from.task,
      depth: from.depth,
      label: from.label,
      attempt,
      start: this.vt.ms(),
      dead: false,
    };
    this.invocations.push(inv);
    let settle: (outcome: 'done' | 'failed' | 'timeout') => void = () => {};
    const ended = new Promise<'done' | 'failed' | 'timeout'>((resolve) => {
      settle = resolve;
    });
    const timer = this.vt.timer(() => {
      inv.dead = true;
      settle('timeout');
    }, def.timeoutMs);
    this.#als.run({ inv, task: from.task }, () => {
      def.handler(event).then(
        () => settle('done'),
        () => settle('failed'),
      );
    });
    void ended.then((outcome) => {
      if (inv.outcome) return;
      this.vt.clear(timer);
      inv.outcome = outcome;
      inv.end = this.vt.ms();
      inv.dead ||= outcome !== 'done';
      if (outcome === 'done') return;
      const wait = RETRY_WAITS_MS[attempt - 1];
      if (wait === undefined) this.onFailure.push({ fn, label: from.label, task: from.task });
      else this.vt.timer(() => this.invoke(fn, event, from, attempt + 1), wait);
    });
  }

  /** The worker's dispatcher: InvokeCommand (`Event`) of the worker, one hop deeper than the caller. */
  dispatcher(count: (task: string) => void): JobDispatcher {
    return {
      dispatch: async (job: Job) => {
        await this.gate();
        const from = this.current();
        const task = from ? this.task() : job.type;
        count(task);
        await this.vt.sleep(INVOKE_MS);
        await this.gate();
        this.invoke('worker', job, { task, depth: (from?.depth ?? 0) + 1, label: `${job.type} ${job.id}` });
      },
    };
  }

  /** Runs `fn` as part of the current invocation under another task name (the schedule's tasks, one after another). */
  asTask<T>(task: string, fn: () => Promise<T>): Promise<T> {
    const inv = this.current();
    if (!inv) return fn();
    return this.#als.run({ inv, task }, fn);
  }
}
