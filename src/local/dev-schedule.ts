/**
 * The schedules of `npm run dev`: the frequent tasks every minute in the background (as the schedule function runs
 * them on Lambda every 15 minutes), and the daily tasks on demand, optionally "N days from now" on the dev bot's own
 * clock. Dev tool only: no Lambda bundle imports it (Lambda's clock is the system clock).
 */
import { type Clock, DAY } from '../clock.js';

const HOUR = 3_600_000;

import type { Deps } from '../deps.js';
import { dailyTasks, minuteTasks, runScheduledTasks, type ScheduledTask, scheduledTasks } from '../jobs/schedule.js';
import { refreshUserProjection } from '../services/user-projection.js';

/**
 * The dev bot's clock: the system clock plus an offset that only moves forward when asked (`--days-ahead`), so keys
 * created today look N days old to the key scan, and everything after (clicks, link expiry) happens on that day too.
 */
export class OffsetClock implements Clock {
  #offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.#offsetMs);
  }
  get daysAhead(): number {
    return this.#offsetMs / DAY;
  }
  /** Sets the clock to `days` days from the system's now (0: the system's now). */
  setDaysAhead(days: number): void {
    this.#offsetMs = days * DAY;
  }
  /** Moves the clock `hours` hours forward from where it is (a temporary membership's notice, its end). */
  advanceHours(hours: number): void {
    this.#offsetMs += hours * HOUR;
  }
}

/**
 * How often dev runs the frequent tasks, in milliseconds, from `DEV_SCHEDULE`: unset = every minute, `off` (or `0`)
 * = never, a number = every so many seconds. Anything else is an error that says what it expects.
 */
export function devScheduleEvery(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return 60_000;
  const v = value.trim().toLowerCase();
  if (v === 'off' || v === 'false' || v === '0') return undefined;
  const seconds = Number(v);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new Error(`DEV_SCHEDULE must be "off" or a number of seconds, not ${JSON.stringify(value)}`);
  return seconds * 1000;
}

export type TaskResults = Awaited<ReturnType<typeof runScheduledTasks>>;

/** What a task did, for one dev log line: only what it counted (non-zero), or its error. */
export function summarize(results: TaskResults): string {
  return Object.entries(results)
    .map(([name, r]) => {
      if ('error' in r) return `${name} failed (${String(r.error)})`;
      const counted = Object.entries(r as Record<string, number>).filter(([, n]) => n !== 0);
      return counted.length ? `${name}: ${counted.map(([k, n]) => `${k} ${n}`).join(', ')}` : undefined;
    })
    .filter(Boolean)
    .join('; ');
}

export interface DevScheduler {
  /** How many background runs of the frequent tasks finished, and what the last one did. */
  readonly runs: number;
  readonly last: TaskResults | undefined;
  /** Runs the daily tasks now, after setting the dev clock `daysAhead` days from the system's now when given. */
  runDaily(daysAhead?: number): Promise<{ results: TaskResults; daysAhead: number }>;
  /**
   * Runs the one-minute tasks (a due wait wakes: a temporary membership's notice or end) now, after moving the dev
   * clock `hoursAhead` hours forward when given.
   */
  runMinute(hoursAhead?: number): Promise<{ results: TaskResults; hoursAhead: number }>;
  stop(): void;
}

/**
 * Starts the background run of the frequent tasks every `everyMs` (none when undefined). A run never overlaps the
 * previous one, and its failures are logged, never thrown: the dev server keeps running.
 */
/**
 * The frequent tasks as dev runs them: the projection refresh in the tick itself, every account in this process (on
 * Lambda the schedule hands one worker part per account to the worker). Handed off at a tick a second, refreshes
 * would keep the in-process worker busy without end, and a command waiting for its jobs (`--daily`) would wait on.
 */
const devFrequentTasks: ScheduledTask[] = scheduledTasks.map((task) =>
  task.name === 'refresh-user-projection' ? { name: task.name, run: (deps) => refreshUserProjection(deps) } : task,
);

export function startDevScheduler(options: {
  deps: Deps;
  clock: OffsetClock;
  everyMs: number | undefined;
  say: (line: string) => void;
}): DevScheduler {
  const { deps, clock, everyMs, say } = options;
  let runs = 0;
  let last: TaskResults | undefined;
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      // the one-minute tasks too: dev runs every schedule at its own pace, one tick
      last = await runScheduledTasks(deps, [...minuteTasks, ...devFrequentTasks]);
      // Only failures: a line a minute of bookkeeping counts would bury the log (what the tasks post shows anyway).
      const failed = Object.fromEntries(Object.entries(last).filter(([, r]) => 'error' in r));
      if (Object.keys(failed).length) say(`[schedule] ${summarize(failed)}`);
    } catch (error) {
      say(`[schedule] the frequent tasks failed: ${(error as Error)?.name}: ${(error as Error)?.message}`);
    } finally {
      runs++;
      running = false;
    }
  };
  const timer = everyMs === undefined ? undefined : setInterval(() => void tick(), everyMs);
  timer?.unref();
  return {
    get runs() {
      return runs;
    },
    get last() {
      return last;
    },
    async runDaily(daysAhead) {
      if (daysAhead !== undefined) {
        if (!Number.isFinite(daysAhead) || daysAhead < 0) throw new RangeError('days ahead must be a number >= 0');
        clock.setDaysAhead(daysAhead);
      }
      say(
        `[schedule] running the daily tasks (${dailyTasks.map((t) => t.name).join(', ')}) at ${clock.now().toISOString()}${clock.daysAhead ? ` (the dev clock is ${clock.daysAhead} days ahead)` : ''}`,
      );
      const results = await runScheduledTasks(deps, dailyTasks);
      const done = summarize(results);
      if (done) say(`[schedule] ${done}`);
      return { results, daysAhead: clock.daysAhead };
    },
    async runMinute(hoursAhead) {
      if (hoursAhead !== undefined) {
        if (!Number.isFinite(hoursAhead) || hoursAhead < 0) throw new RangeError('hours ahead must be a number >= 0');
        clock.advanceHours(hoursAhead);
      }
      say(
        `[schedule] running the one-minute tasks (${minuteTasks.map((t) => t.name).join(', ')}) at ${clock.now().toISOString()}${hoursAhead ? ` (the dev clock moved ${hoursAhead} hours)` : ''}`,
      );
      const results = await runScheduledTasks(deps, minuteTasks);
      const done = summarize(results);
      if (done) say(`[schedule] ${done}`);
      return { results, hoursAhead: hoursAhead ?? 0 };
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}
