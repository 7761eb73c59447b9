import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig, reminderDaysOf } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { KIND_GROUP_FIELDS } from '../../src/kinds/policy.js';
import { testPolicy } from '../support/policy.js';

const goodEnv = { SLACK_SIGNING_SECRET: 'test-signing-secret-not-real', SLACK_BOT_TOKEN: 'xoxb-test-token' };

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('accepts the policy.yml shipped in the repository with defaults for everything optional', () => {
    const config = loadConfig(goodEnv, () => readFileSync('policy.yml', 'utf8'));

    expect(config.env.POLICY_FILE).toBe('policy.yml');
    expect(config.env.PORT).toBe(3000);
    expect(config.policy.approvals.channel).toMatch(/^C/);
    expect(config.policy.groups.map((g) => g.name)).toContain('ci-deployers');
    expect(config.policy.keys).toEqual({
      remindAfterDays: 80,
      maxAgeDays: 90,
      rotationGraceDays: 7,
      rotationNeedsApproval: false,
      recoveryDays: 7,
      stillInUse: 'deactivate',
      overdueRepeatDays: 7,
      escalateAfterDays: 7,
      autoDeactivate: { mode: 'off', afterDays: 30 },
      idleDays: 90,
      snooze: { days: 7, maxDaysPerKey: 14 },
    });
    expect(reminderDaysOf(config.policy.keys)).toEqual([80, 85]);
    expect(config.policy.links.lifetimeHours).toBe(24);
  });

  it('refuses key reminders at or past the maximum age, a snooze limit below one snooze and an unknown mode', () => {
    const policy = stringify(
      testPolicy({
        keys: {
          maxAgeDays: 90,
          reminderDays: [60, 90],
          snooze: { days: 7, maxDaysPerKey: 5 },
          autoDeactivate: { mode: 'yes' },
        },
      }),
    );

    const problems = problemsOf(() => loadConfig({ ...goodEnv, POLICY_FILE: 'p.yml' }, () => policy));

    expect(problems).toEqual([expect.stringContaining('keys.autoDeactivate.mode')]);
    const fixed = stringify(
      testPolicy({ keys: { maxAgeDays: 90, reminderDays: [60, 90], snooze: { days: 7, maxDaysPerKey: 5 } } }),
    );
    expect(problemsOf(() => loadConfig({ ...goodEnv, POLICY_FILE: 'p.yml' }, () => fixed))).toEqual([
      'p.yml: keys.reminderDays.1: must be less than keys.maxAgeDays (90): from that age on the key is overdue',
      'p.yml: keys.snooze.maxDaysPerKey: must be at least keys.snooze.days (7), or 0 to turn snoozing off',
    ]);
  });

  it('names all three problems of a configuration with three, in one error', () => {
    const policy = stringify(testPolicy({ approvals: { channel: 'general', approvers: { users: ['U0APPROVER1'] } } }));
    const env = {
      SLACK_SIGNING_SECRET: 'test-signing-secret-not-real',
      SLACK_BOT_TOKEN: 'not-a-bot-token',
      SLACK_API_URL: 'nope',
    };

    const problems = problemsOf(() => loadConfig(env, () => policy));

    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toMatch(/SLACK_BOT_TOKEN: must start with xoxb-/);
    expect(problems.join('\n')).toMatch(/SLACK_API_URL/);
    expect(problems.join('\n')).toMatch(/policy\.yml: approvals\.channel: must be a Slack channel id/);
  });

  it('says where to find a missing signing secret and token', () => {
    const problems = problemsOf(() => loadConfig({}, () => stringify(testPolicy())));

    expect(problems.join('\n')).toMatch(
      /SLACK_SIGNING_SECRET: is required \(Slack app > Basic Information > Signing Secret\)/,
    );
    expect(problems.join('\n')).toMatch(/SLACK_BOT_TOKEN: is required/);
  });

  it('rejects the root path for the users the bot manages (its role would cover every IAM user)', () => {
    const policy = stringify(testPolicy({ users: { path: '/', managedPaths: ['/legacy/', '/'] } }));

    expect(problemsOf(() => loadConfig(goodEnv, () => policy))).toEqual([
      'policy.yml: users.path: must not be / (the bot would manage every IAM user, administrators included): use a path of its own',
      'policy.yml: users.managedPaths.1: must not be / (the bot would manage every IAM user, administrators included): use a path of its own',
    ]);
  });

  it('rejects a reminder age that is not below the maximum key age', () => {
    const policy = stringify(testPolicy({ keys: { remindAfterDays: 90, maxAgeDays: 90, rotationGraceDays: 7 } }));

    expect(problemsOf(() => loadConfig(goodEnv, () => policy))).toEqual([
      'policy.yml: keys.remindAfterDays: must be less than keys.maxAgeDays',
    ]);
  });

  it('reports an unreadable policy file together with the environment problems', () => {
    const problems = problemsOf(() =>
      loadConfig({ SLACK_BOT_TOKEN: 'xoxb-x' }, () => {
        throw new Error('ENOENT: no such file');
      }),
    );

    expect(problems.some((p) => p.startsWith('SLACK_SIGNING_SECRET'))).toBe(true);
    expect(problems.some((p) => p.includes('policy.yml: cannot be read'))).toBe(true);
  });

  it("disables a leaver's IAM users by default, with 30 days to reactivate and nothing excluded", () => {
    const config = loadConfig(goodEnv, () => stringify(testPolicy()));

    expect(config.policy.leavers).toEqual({ action: 'disable', exclude: [], recoveryDays: 30 });
  });

  it('checks the leavers policy: the action, each excluded name or path, the recovery period', () => {
    const policy = stringify(
      testPolicy({ leavers: { action: 'delete', exclude: ['build-bot', '/keep/', 'no spaces'], recoveryDays: 0 } }),
    );

    const problems = problemsOf(() => loadConfig(goodEnv, () => policy)).join('\n');

    expect(problems).toMatch(/leavers\.action/);
    expect(problems).toMatch(/leavers\.exclude\.2: must be an IAM user name or an IAM path/);
    expect(problems).not.toMatch(/leavers\.exclude\.[01]/);
    expect(problems).toMatch(/leavers\.recoveryDays/);
  });

  it('rejects unknown policy keys (a typo must not silently disable a rule)', () => {
    const policy = stringify({ ...testPolicy(), approval: {} });

    expect(problemsOf(() => loadConfig(goodEnv, () => policy)).join('\n')).toMatch(/approval/);
  });
});

describe('the fields a kind reads from a policy group', () => {
  it('come from the kinds\u2019 declarations (src/kinds/policy.ts): each is in the group schema, with its default', () => {
    // Prepare: a policy with one group that says nothing of the kinds' fields, and the defaults the kinds declare
    const policy = { ...testPolicy(), groups: [{ name: 'read-only' }] };
    const declared = Object.keys(KIND_GROUP_FIELDS);

    // Act
    const config = loadConfig(goodEnv, () => stringify(policy));
    const group = config.policy.groups[0] as Record<string, unknown>;

    // Assess: temporary membership's fields are its module's, parsed as it declares them
    expect(declared).toEqual(['temporaryOnly', 'maxDuration', 'maxExtensions', 'extensionNeedsApproval', 'breakGlass']);
    expect(Object.fromEntries(declared.map((k) => [k, group[k]]))).toEqual({
      temporaryOnly: false,
      maxDuration: '8h',
      maxExtensions: 2,
      extensionNeedsApproval: false,
      breakGlass: undefined,
    });
    expect(
      problemsOf(() =>
        loadConfig(goodEnv, () =>
          stringify({ ...testPolicy(), groups: [{ name: 'read-only', breakGlass: { maxDuration: '40d' } }] }),
        ),
      ).join('\n'),
    ).toMatch(/breakGlass.*maxDuration.*must be a duration/s);
  });
});
