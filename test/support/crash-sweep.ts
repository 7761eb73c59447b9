/**
 * The crash sweep of a test file (the loop of test/integration/crash-every-step.test.ts, shared by the files that
 * add kinds to it): for each scenario, the uninterrupted run and its kill points, then a run killed before and after
 * each point (a sample of SAMPLE_POINTS by default, every point with CRASH_SWEEP=full), compared with the
 * uninterrupted run; doubled messages allowed only where MAY_DOUBLE says, known failures reported as such, and the
 * results table printed after the file. CRASH_KIND=<prefix> runs one kind; CRASH_FROM=<n> starts at its n-th kill
 * point (0 first); CRASH_DEBUG=1 prints the kill points and each point's result.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { TestBot } from './bot.js';
import {
  afterAPost,
  type CrashScenario,
  compareEndStates,
  type KillSwitch,
  type KillWhen,
  pointName,
  type RunResult,
  runScenario,
} from './kill-points.js';

export const FULL = process.env.CRASH_SWEEP === 'full';
/** How many kill points of each kind the default run checks (both kills at each); the full sweep checks all. */
export const SAMPLE_POINTS = 3;

export interface SweepOptions {
  /** The bot of the file, started in its beforeAll. */
  bot: () => TestBot;
  kills: KillSwitch;
  scenarios: CrashScenario[];
  start: Date;
  /** Per kind: kill points where a message may be doubled (between a Slack post and the write recording it). */
  mayDouble?: Record<string, string[]>;
  /** Per kind: kill points that still end differently, with what differs. */
  known?: Record<string, Record<string, string>>;
  /** Time for one kind's sweep. */
  timeout?: number;
}

interface Checked {
  kind: string;
  point: string;
  known: boolean;
  humanRetry: boolean;
  retries: number;
  exhausted: string[];
  doubled: string[];
  problems: string[];
}

/** Defines one test per scenario (see the file's header) and prints the results table after them. */
export function crashSweep(options: SweepOptions): void {
  const { kills, scenarios, start, mayDouble = {}, known = {} } = options;
  const checked: Checked[] = [];

  afterAll(() => {
    const lines = [
      `Crash at every step: ${checked.length} (kind, kill point) pairs checked${FULL ? ' (every kill point)' : ` (a sample of ${SAMPLE_POINTS} points per kind; CRASH_SWEEP=full for all)`}`,
    ];
    for (const kind of new Set(checked.map((c) => c.kind))) {
      const mine = checked.filter((c) => c.kind === kind);
      lines.push(
        `  ${kind}: ${mine.length} pairs, ${mine.filter((c) => c.problems.length && !c.known).length} failed, ${mine.filter((c) => c.known).length} known failures, ${mine.filter((c) => c.humanRetry).length} needed an approver's Retry, ${mine.filter((c) => c.retries > 1).length} needed Lambda's second retry, ${mine.filter((c) => c.exhausted.length).length} exhausted Lambda's retries`,
      );
      for (const c of mine.filter((x) => x.doubled.length))
        lines.push(`    doubled at ${c.point}: ${c.doubled.join(' | ')}`);
      for (const c of mine.filter((x) => x.humanRetry)) lines.push(`    Retry needed at ${c.point}`);
      for (const c of mine.filter((x) => x.known))
        lines.push(`    known failure at ${c.point}: ${c.problems.join(' | ')}`);
      for (const c of mine.filter((x) => x.problems.length && !x.known))
        lines.push(`    FAILED at ${c.point}: ${c.problems.join(' | ')}`);
    }
    console.info(lines.join('\n'));
  });

  describe('a request killed at any step of the worker ends as if it had not been', () => {
    const only = process.env.CRASH_KIND;
    for (const scenario of scenarios.filter((s) => !only || only.split(',').some((p) => s.kind.startsWith(p)))) {
      it(
        `${scenario.kind}: the same end state, whatever call the worker died before or after`,
        async () => {
          const bot = options.bot();
          // Prepare: the uninterrupted run, and its kill points.
          const baseline = await runScenario(bot, kills, scenario, start);
          expect(baseline.settled.humanRetry).toBe(false);
          expect(baseline.stats).toEqual({ killed: 0, retries: 0, exhausted: [] });
          if (process.env.CRASH_DEBUG)
            console.info(
              `${scenario.kind}:\n  ${baseline.points.map((p) => pointName(p)).join('\n  ')}\n${JSON.stringify(baseline.state, null, 1)}`,
            );
          const stride = Math.max(1, Math.floor(baseline.points.length / SAMPLE_POINTS));
          const from = Number(process.env.CRASH_FROM ?? 0); // resumes a full sweep at that point (debugging)
          const points = (FULL ? baseline.points : baseline.points.filter((_, i) => i % stride === stride - 1)).filter(
            (p) => baseline.points.indexOf(p) >= from,
          );
          const doubles = mayDouble[scenario.kind] ?? [];
          const knownHere = known[scenario.kind] ?? {};
          const failures: string[] = [];

          for (const point of points) {
            for (const when of ['before', 'after'] as KillWhen[]) {
              // Act
              const run: RunResult = await runScenario(bot, kills, scenario, start, { point, when });
              // Assess
              const name = pointName(point, when);
              const { problems, doubled } = compareEndStates(baseline.state, run.state, run.settled.humanRetry);
              if (!run.fired) problems.push('the kill point was never reached');
              if (run.stats.retries > 1) problems.push(`${run.stats.retries} Lambda retries for one kill`);
              if (doubled.length && !afterAPost(baseline.points, point, when))
                problems.push(`doubled before any post: ${doubled.join(' | ')}`);
              else if (doubled.length && !doubles.includes(name)) problems.push(`doubled: ${doubled.join(' | ')}`);
              if (FULL && !doubled.length && doubles.includes(name)) problems.push('listed in MAY_DOUBLE, but clean');
              const isKnown = problems.length > 0 && name in knownHere;
              if (FULL && !problems.length && name in knownHere) problems.push('listed in KNOWN, but clean');
              checked.push({
                kind: scenario.kind,
                point: name,
                known: isKnown,
                humanRetry: run.settled.humanRetry,
                retries: run.stats.retries,
                exhausted: run.stats.exhausted,
                doubled,
                problems,
              });
              if (process.env.CRASH_DEBUG) console.info(`DEBUG ${name}: ${problems.join(' | ') || 'same'}`);
              if (problems.length && !isKnown) failures.push(`${name}\n      ${problems.join('\n      ')}`);
            }
          }

          expect(failures, `${scenario.kind} at ${baseline.points.length} kill points`).toEqual([]);
        },
        options.timeout ?? 30 * 60_000,
      );
    }
  });
}
