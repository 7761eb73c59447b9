/**
 * A virtual clock for the simulated company (`npm run bench -- org`): time moves only when everything runnable has
 * run and no real I/O is in flight (DynamoDB, the one real service), then jumps to the next timer. While installed,
 * `Date.now` and the global `setTimeout`/`clearTimeout` are this clock's, so the bot's own budgets (`Date.now() -
 * started`), its sleeps, the AWS SDK's retry backoff and the Slack Web API client's wait on Retry-After all pass in
 * virtual time, as they would on Lambda, without the bench waiting for them.
 */
import type { Clock } from '../../src/clock.js';

const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
const realDateNow = Date.now;
const realImmediate = () => new Promise<void>((resolve) => setImmediate(resolve));
const realPause = (ms: number) => new Promise<void>((resolve) => realSetTimeout(resolve, ms));

interface Timer {
  id: number;
  at: number;
  seq: number;
  fn: (...args: unknown[]) => void;
  args: unknown[];
}

/** What `setTimeout` returns while the clock is installed (enough of Node's Timeout for the libraries in use). */
class VirtualTimeout {
  constructor(
    readonly id: number,
    private readonly vt: VirtualTime,
  ) {}
  unref(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  hasRef(): boolean {
    return true;
  }
  refresh(): this {
    return this;
  }
  close(): this {
    this.vt.clear(this.id);
    return this;
  }
  [Symbol.toPrimitive](): number {
    return this.id;
  }
}

export class VirtualTime implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, Timer>();
  /** Real I/O in flight (see `real`): time does not move while there is any. */
  #inflight = 0;
  /** Counts timers set and real I/O started or ended: unchanged over a real pause, nothing is running. */
  #activity = 0;

  constructor(start: Date | string) {
    this.#now = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.#now);
  }

  ms(): number {
    return this.#now;
  }

  /** Resolves once `ms` of virtual time have passed. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.timer(() => resolve(), ms));
  }

  timer(fn: (...args: unknown[]) => void, ms: number, args: unknown[] = []): number {
    const id = ++this.#seq;
    this.#activity++;
    this.#timers.set(id, { id, at: this.#now + Math.max(0, Number(ms) || 0), seq: id, fn, args });
    return id;
  }

  clear(id: unknown): void {
    if (id instanceof VirtualTimeout) this.#timers.delete(id.id);
    else if (typeof id === 'number') this.#timers.delete(id);
  }

  /** Runs real I/O: virtual time stands still until it is answered. */
  async real<T>(fn: () => Promise<T>): Promise<T> {
    this.#inflight++;
    this.#activity++;
    try {
      return await fn();
    } finally {
      this.#inflight--;
      this.#activity++;
    }
  }

  /** Makes `Date.now`, `setTimeout` and `clearTimeout` this clock's; returns what restores them. */
  install(): () => void {
    const g = globalThis as unknown as Record<string, unknown>;
    g.setTimeout = (fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) =>
      new VirtualTimeout(this.timer(fn, ms ?? 0, args), this);
    g.clearTimeout = (id: unknown) => this.clear(id);
    Date.now = () => this.ms();
    return () => {
      g.setTimeout = realSetTimeout;
      g.clearTimeout = realClearTimeout;
      Date.now = realDateNow;
    };
  }

  /**
   * Everything runnable has run and no real I/O is in flight. `quietMs` > 0: nothing changed over that much real time
   * either (I/O the clock does not track, such as an SDK client reading its configuration files on its first call,
   * ends well within it); 0: two rounds of the event loop changed nothing (cheap: used between two timers).
   */
  async #settle(quietMs: number): Promise<void> {
    let quietSince = -1;
    for (;;) {
      const before = this.#activity;
      await realImmediate();
      if (quietMs > 0 || this.#inflight > 0) await realPause(this.#inflight > 0 ? 1 : 0);
      await realImmediate();
      if (this.#inflight > 0 || this.#activity !== before) {
        quietSince = -1;
        continue;
      }
      if (quietMs === 0) return;
      const t = performance.now();
      if (quietSince < 0) quietSince = t;
      else if (t - quietSince >= quietMs) return;
    }
  }

  /**
   * Runs until virtual time `until` (every timer due by then fired), until nothing is left to run, or until `done`
   * says so (checked whenever nothing runnable is left at the current instant).
   */
  async runUntil(until: number, progress?: (now: number) => void, done?: () => boolean): Promise<void> {
    let reported = this.#now;
    for (;;) {
      await this.#settle(0);
      if (done?.()) return;
      let next = this.#next();
      if (!next || next.at > until) {
        await this.#settle(30); // before the clock jumps far, or the run ends: make sure nothing is still running
        next = this.#next();
      }
      if (!next && done) continue; // waiting on I/O the clock does not track: time must not jump
      if (!next || next.at > until) {
        this.#now = Math.max(this.#now, until);
        return;
      }
      this.#now = Math.max(this.#now, next.at);
      if (progress && this.#now - reported >= 3_600_000) {
        reported = this.#now;
        progress(this.#now);
      }
      // every timer due at this instant, in the order they were set: what they start runs side by side (the real
      // I/O of many lanes at once, as on AWS), not one after another
      const due = [...this.#timers.values()]
        .filter((t) => t.at <= this.#now)
        .sort((a, b) => a.at - b.at || a.seq - b.seq);
      for (const t of due) this.#timers.delete(t.id);
      for (const t of due) t.fn(...t.args);
    }
  }

  #next(): Timer | undefined {
    let next: Timer | undefined;
    for (const t of this.#timers.values())
      if (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq)) next = t;
    return next;
  }

  /** Real I/O in flight now. */
  get inflight(): number {
    return this.#inflight;
  }

  /** Timers still pending (the run is idle when this is 0 after runUntil). */
  get pending(): number {
    return this.#timers.size;
  }
}
