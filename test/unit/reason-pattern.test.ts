/** A group's reasonPattern: checked when the policy is loaded (start-up, `npm run build`), applied by reasonProblem. */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig, policySchema } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { reasonProblem } from '../../src/services/reason-rules.js';
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

const dir = mkdtempSync(path.join(tmpdir(), 'reason-pattern-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a group reasonPattern that is not a regular expression', () => {
  it('stops the start-up with an error naming the group and the pattern', () => {
    // Prepare
    const policy = withGroups({ name: 'prod-admins', reasonPattern: '^(OPS|SEC-[0-9]+' });

    // Act
    const problems = problemsOf(() => loadConfig(goodEnv, () => policy));

    // Assess
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^policy\.yml: groups\.1\.reasonPattern: group prod-admins: reasonPattern "\^\(OPS\|SEC-\[0-9\]\+" is not a valid regular expression \(Invalid regular expression: .+\)$/,
    );
  });

  it('fails `npm run build` (scripts/build.mjs compilePolicy), writing no policy.json', async () => {
    // Prepare
    const source = path.join(dir, 'bad-policy.yml');
    const dest = path.join(dir, 'dist', 'policy.json');
    writeFileSync(source, withGroups({ name: 'prod-admins', reasonPattern: '(OPS-[0-9]+' }));
    // @ts-expect-error: scripts/build.mjs is plain JavaScript
    const build = await import('../../scripts/build.mjs');

    // Act
    const failure = await build.compilePolicy({ source, dest }).then(
      () => undefined,
      (error: Error) => error,
    );

    // Assess
    expect(failure?.name).toBe('ConfigError');
    expect(failure?.message).toContain(
      'group prod-admins: reasonPattern "(OPS-[0-9]+" is not a valid regular expression',
    );
    expect(existsSync(dest)).toBe(false);
  });

  it('also fails the schema the role script parses the compiled policy with', () => {
    // Act
    const result = policySchema.safeParse({
      ...testPolicy(),
      groups: [{ name: 'prod-admins', reasonPattern: '[' }],
    });

    // Assess
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain('group prod-admins: reasonPattern');
  });

  it('refuses a reasonHint without a reasonPattern (a hint that explains nothing)', () => {
    const problems = problemsOf(() => loadConfig(goodEnv, () => withGroups({ name: 'x', reasonHint: 'a ticket' })));

    expect(problems.join('\n')).toContain('group x: reasonHint needs a reasonPattern to explain');
  });
});

describe('reasonProblem', () => {
  const policy = {
    groups: [
      { name: 'prod', reasonPattern: '^[A-Z]+-[0-9]+', reasonHint: 'a ticket id like OPS-123' },
      { name: 'billing', reasonPattern: 'INC[0-9]{6}' },
      { name: 'read-only' },
    ],
  } as never;

  it('takes a reason that matches the pattern of every requested group that has one', () => {
    expect(reasonProblem(policy, ['prod', 'read-only'], '  OPS-12 deploy')).toBeUndefined();
    expect(reasonProblem(policy, ['read-only'], 'anything')).toBeUndefined();
    expect(reasonProblem(policy, ['billing'], 'see INC000123')).toBeUndefined();
  });

  it('names each group whose pattern the reason misses, with its hint when it has one', () => {
    expect(reasonProblem(policy, ['prod', 'billing'], 'ops-12')).toBe(
      '`prod` needs a reason that matches `^[A-Z]+-[0-9]+`: a ticket id like OPS-123. `billing` needs a reason that matches `INC[0-9]{6}`.',
    );
  });
});
