/** A group's breakGlass in policy.yml: validated when the policy is loaded (start-up, `npm run build`). */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { breakGlassProblem, reviewWithinMs } from '../../src/kinds/temporary-membership/break-glass.js';
import { parseChangeArgs } from '../../src/listeners/commands/change-args.js';
import { testPolicy } from '../support/policy.js';

const goodEnv = { SLACK_SIGNING_SECRET: 'test-signing-secret-not-real', SLACK_BOT_TOKEN: 'xoxb-test-token' };
const withGroups = (...groups: Record<string, unknown>[]) =>
  stringify(testPolicy({ groups: [{ name: 'read-only' }, ...groups] }));

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('a group breakGlass in the policy', () => {
  it('is read with its maxDuration and a default reviewWithin of 24h', () => {
    // Act
    const { policy } = loadConfig(goodEnv, () => withGroups({ name: 'emergency', breakGlass: { maxDuration: '1h' } }));

    // Assess
    expect(policy.groups[1]?.breakGlass).toEqual({ maxDuration: '1h', reviewWithin: '24h' });
    expect(policy.groups[0]?.breakGlass).toBeUndefined();
    expect(reviewWithinMs(policy, ['emergency'])).toBe(24 * 3_600_000);
    expect(breakGlassProblem(policy, ['emergency'], 3_600_000)).toBeUndefined();
    expect(breakGlassProblem(policy, ['emergency'], 3_600_001)).toContain('at most 1h');
    expect(breakGlassProblem(policy, ['emergency', 'read-only'], 60_000)).toContain('`read-only` does not allow');
  });

  it.each([
    ['no maxDuration', { reviewWithin: '2h' }, 'groups.1.breakGlass.maxDuration'],
    ['a maxDuration that is not a duration', { maxDuration: 'soon' }, 'groups.1.breakGlass.maxDuration'],
    ['a reviewWithin beyond 30 days', { maxDuration: '1h', reviewWithin: '31d' }, 'groups.1.breakGlass.reviewWithin'],
    ['an unknown key', { maxDuration: '1h', approver: 'me' }, 'groups.1.breakGlass'],
  ])('with %s stops the start-up, naming the field', (_what, breakGlass, field) => {
    // Act
    const problems = problemsOf(() => loadConfig(goodEnv, () => withGroups({ name: 'emergency', breakGlass })));

    // Assess
    expect(problems.join('\n')).toContain(field);
  });
});

describe('the --break-glass flag of /iam add-to-group', () => {
  it('makes a break-glass temporary membership with --for and a reason', () => {
    // Act
    const { draft, problems } = parseChangeArgs(
      'add-to-group',
      'build-bot emergency --for 1h --break-glass --reason "INC-42"',
    );

    // Assess
    expect(problems).toEqual([]);
    expect(draft).toMatchObject({ kind: 'temporary-membership', fields: { breakGlass: true, durationMs: 3_600_000 } });
  });

  it.each([
    ['without --for', 'build-bot emergency --break-glass --reason "INC-42"', '`--break-glass` needs `--for <time>`'],
    ['without a reason', 'build-bot emergency --for 1h --break-glass', '`--break-glass` needs `--reason'],
  ])('is refused %s', (_what, text, problem) => {
    // Act
    const { problems } = parseChangeArgs('add-to-group', text);

    // Assess
    expect(problems.join('\n')).toContain(problem);
  });
});
