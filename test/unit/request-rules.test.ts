import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { parseTags } from '../../src/services/request-validation.js';
import { approvalRule, provisionJob } from '../../src/services/requests.js';
import { testPolicy } from '../support/policy.js';

const env = { SLACK_SIGNING_SECRET: 'test-signing-secret-not-real', SLACK_BOT_TOKEN: 'xoxb-test-token' };
const policy = loadConfig(env, () => stringify(testPolicy())).policy;

describe('approvalRule', () => {
  it('needs the highest approval count among the policy and the requested groups', () => {
    expect(approvalRule(policy, ['ci-deployers']).requiredApprovals).toBe(1);
    expect(approvalRule(policy, ['ci-deployers', 'production-admins']).requiredApprovals).toBe(2);
  });

  it('takes a group’s own approvers, else the global ones', () => {
    const rule = approvalRule(policy, ['billing-viewers', 'read-only']);

    expect(rule.groups[0]?.approvers?.users).toEqual(['U0FINANCE1']);
    expect(rule.groups[1]?.approvers?.usergroups).toEqual(['S0SECURITY']);
  });

  it('gives a group the policy no longer lists no approver at all', () => {
    expect(approvalRule(policy, ['retired-group']).groups[0]?.approvers).toBeUndefined();
  });

  it('takes a kind’s approvers and count from approvals.kinds, else the global ones (set-owner has no group)', () => {
    const withKinds = loadConfig(env, () =>
      stringify(
        testPolicy({
          approvals: {
            ...testPolicy().approvals,
            kinds: { 'set-owner': { approvers: { users: ['U0SECOFFICER'] }, requiredApprovals: 2 } },
          },
        }),
      ),
    ).policy;

    const setOwner = approvalRule(withKinds, [], 'set-owner');
    const addToGroup = approvalRule(withKinds, ['read-only'], 'add-to-group');

    expect(setOwner).toEqual({
      requiredApprovals: 2,
      groups: [{ name: '', approvers: { users: ['U0SECOFFICER'], usergroups: [] } }],
    });
    expect(addToGroup.requiredApprovals).toBe(1);
    expect(addToGroup.groups[0]?.approvers?.users).toEqual(['U0APPROVER1', 'U0APPROVER2', 'U0APPROVER3']);
    expect(approvalRule(policy, [], 'set-owner').groups[0]?.approvers?.usergroups).toEqual(['S0SECURITY']);
  });

  it('refuses a kind approvals.kinds does not know', () => {
    expect(() =>
      loadConfig(env, () =>
        stringify(testPolicy({ approvals: { ...testPolicy().approvals, kinds: { 'access-review': {} } } })),
      ),
    ).toThrow(/approvals\.kinds/);
  });
});

describe('parseTags', () => {
  it('reads key=value lines and commas', () => {
    expect(parseTags('team=platform\ncost-center=1234, owner=alice@example.com')).toEqual({
      tags: [
        { key: 'team', value: 'platform' },
        { key: 'cost-center', value: '1234' },
        { key: 'owner', value: 'alice@example.com' },
      ],
    });
  });

  it.each([
    ['team', '`team` is not key=value'],
    ['request-id=x', '`request-id` is set by the bot itself'],
    ['aws:x=1', '`aws:x` is not a valid tag key (1-128 letters, digits, spaces, _.:/=+-@; not aws:)'],
    ['a=1\na=2', '`a` is given twice'],
    ['a=b;c', 'the value of `a` may only hold letters, digits, spaces and _.:/=+-@'],
  ])('refuses %j', (text, problem) => {
    expect(parseTags(text).problem).toBe(problem);
  });
});

describe('provisionJob', () => {
  it('names the first attempt provision:<id> and retry n provision:<id>:<n>', () => {
    expect(provisionJob({ id: 'req-a', attempt: 1 }).id).toBe('provision:req-a');
    expect(provisionJob({ id: 'req-a', attempt: 3 })).toEqual({
      id: 'provision:req-a:3',
      type: 'provision',
      payload: { requestId: 'req-a', attempt: 3, announce: false },
    });
  });
});
