import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { changeViolations } from '../../src/services/kinds/run-change.js';
import { describeUndo, undoOf } from '../../src/services/plans/types.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { testPolicy } from '../support/policy.js';

const env = { SLACK_SIGNING_SECRET: 'test-signing-secret-not-real', SLACK_BOT_TOKEN: 'xoxb-test-token' };
const policyOf = (overrides: Record<string, unknown> = {}) =>
  loadConfig(env, () => stringify(testPolicy(overrides))).policy;

const change = (plan: AccessRequest['plan'], path = '/iam-slack-bot/') => ({ plan, path }) as AccessRequest;

describe('the worker’s re-check of a change against today’s policy', () => {
  it('refuses a group the policy no longer lists, and a user outside the managed paths', () => {
    const request = change([{ op: 'AddUserToGroup', userName: 'u', group: 'retired' }], '/ops/');

    expect(changeViolations(policyOf(), request)).toEqual([
      'group retired is not in the policy any more',
      "user path /ops/ is not among the policy's managed paths",
    ]);
  });

  it('allows a listed group for a user under users.managedPaths', () => {
    const request = change([{ op: 'RemoveUserFromGroup', userName: 'u', group: 'read-only' }], '/legacy/');

    expect(
      changeViolations(policyOf({ users: { path: '/iam-slack-bot/', managedPaths: ['/legacy/'] } }), request),
    ).toEqual([]);
  });
});

describe('plan steps', () => {
  it('undo a membership by its opposite and an owner tag by the previous owner', () => {
    expect(undoOf({ op: 'AddUserToGroup', userName: 'u', group: 'g' })).toEqual({
      op: 'RemoveUserFromGroup',
      userName: 'u',
      group: 'g',
    });
    expect(undoOf({ op: 'TagUser', userName: 'u', key: 'slack-user-id', value: 'U0NEW', previous: 'U0OLD' })).toEqual({
      op: 'TagUser',
      userName: 'u',
      key: 'slack-user-id',
      value: 'U0OLD',
      previous: 'U0NEW',
    });
    expect(describeUndo({ op: 'RemoveUserFromGroup', userName: 'u', group: 'g' })).toBe('undo: AddUserToGroup u → g');
  });
});
