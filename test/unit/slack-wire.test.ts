import { describe, expect, it } from 'vitest';
import { missingOptions } from '../../src/listeners/commands/create-user-args.js';
import { slackCommandText } from '../../src/local/slack-wire.js';
import { isDraftComplete } from '../../src/services/request-validation.js';

describe('slackCommandText (what the local senders send for what was typed)', () => {
  it('turns @U0SOMEONE into the mention Slack sends, and escapes &, < and > as Slack does', () => {
    expect(slackCommandText('create-user b --for @U0SOMEONE --reason "R&D <temp>"')).toBe(
      'create-user b --for <@U0SOMEONE|u0someone> --reason "R&amp;D &lt;temp&gt;"',
    );
  });

  it('leaves an e-mail address and a plain @name alone', () => {
    expect(slackCommandText('--tag owner=a@U0X.example --for @alice')).toBe('--tag owner=a@U0X.example --for @alice');
  });
});

describe('missingOptions (what the inline create-user says it lacked)', () => {
  const withStaging = { accounts: [{ name: 'staging' }] };
  const complete = {
    userName: 'b',
    groups: ['read-only'],
    accessType: 'keys' as const,
    account: 'home',
    justification: 'why',
  };

  it('names --account when the policy has a named account and the command gave none', () => {
    const { account: _, ...draft } = complete;

    expect(missingOptions(withStaging, draft)).toEqual([
      '`--account` (policy.yml names more than one account: home, staging)',
    ]);
  });

  it.each([
    [{}, ['the user name (the first word)', '`--groups`', '`--keys` and/or `--console`', '`--reason`']],
    [{ userName: 'b', groups: ['read-only'] }, ['`--keys` and/or `--console`', '`--reason`']],
  ])('is empty exactly when the draft is complete: %j', (draft, expected) => {
    const policy = { accounts: [] };

    expect(missingOptions(policy, draft)).toEqual(expected);
    expect(isDraftComplete(policy as never, draft)).toBe(false);
    expect(missingOptions(policy, complete)).toEqual([]);
    expect(isDraftComplete(policy as never, complete)).toBe(true);
  });
});
