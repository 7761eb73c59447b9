import { describe, expect, it } from 'vitest';
import { policySchema } from '../../src/config.js';
import { ladderSteps } from '../../src/services/key-scan.js';
import { testPolicy } from '../support/policy.js';

const DAY = 86_400_000;
const KEYS = policySchema.parse(testPolicy()).keys;
const NOW = new Date('2026-11-23T12:00:00Z');
const createdDaysAgo = (days: number) => new Date(NOW.getTime() - days * DAY - 3_600_000).toISOString();
const steps = (days: number, lastUsedDaysAgo?: number, snoozed = 0, keys = KEYS) =>
  ladderSteps(
    {
      createdAt: createdDaysAgo(days),
      ...(lastUsedDaysAgo === undefined ? {} : { lastUsedAt: createdDaysAgo(lastUsedDaysAgo) }),
    },
    NOW,
    keys,
    snoozed,
  ).map((s) => s.name);

describe('the key-age ladder', () => {
  it.each([
    [79, []],
    [80, ['remind-80']],
    [84, ['remind-80']],
    [85, ['remind-85']],
    [96, ['overdue-0']],
    [97, ['overdue-1', 'escalate']],
    [119, ['overdue-4', 'escalate']],
  ])('a key used yesterday, %i days old, is at %j', (days, expected) => {
    expect(steps(days, 1)).toEqual(expected);
  });

  it('a key never used gets the idle suggestion from the idle age on, named by its last use', () => {
    expect(steps(89)).toEqual(['remind-85']);
    expect(steps(90)).toEqual(['overdue-0', 'idle-never']);
    expect(steps(95, 91)).toEqual(['overdue-0', `idle-${createdDaysAgo(91)}`]);
  });

  it('a snooze delays the owner’s steps, not the escalation', () => {
    expect(steps(97, 1, 10)).toEqual(['remind-85', 'escalate']);
  });

  it('auto-deactivation: dry run or on, past the maximum by afterDays; off by default', () => {
    const on = { ...KEYS, autoDeactivate: { mode: 'on' as const, afterDays: 30 } };
    const dry = { ...KEYS, autoDeactivate: { mode: 'dry-run' as const, afterDays: 30 } };
    expect(steps(120, 1)).not.toContain('deactivate');
    expect(steps(119, 1, 0, on)).not.toContain('deactivate');
    expect(steps(120, 1, 0, on)).toContain('deactivate');
    expect(steps(120, 1, 0, dry)).toContain('deactivate-dry-run');
  });
});
