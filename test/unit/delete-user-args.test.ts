/**
 * `/iam delete-user`'s words, read by the change commands' reader (src/listeners/commands/change-args.ts
 * commandTokens): one IAM user, the shared flags only, each problem in its place.
 */
import { describe, expect, it } from 'vitest';
import { parseDeleteUserArgs } from '../../src/listeners/commands/delete-user.js';

describe('the delete-user command', () => {
  it('reads the user, the reason and the account, in either flag form', () => {
    // Act
    const spaced = parseDeleteUserArgs('old-bot --reason "Left the team" --account staging');
    const joined = parseDeleteUserArgs('old-bot --justification="Not used" --account=staging');

    // Assess
    expect(spaced).toEqual({
      draft: { userName: 'old-bot', justification: 'Left the team', account: 'staging' },
      problems: [],
    });
    expect(joined).toEqual({
      draft: { userName: 'old-bot', justification: 'Not used', account: 'staging' },
      problems: [],
    });
  });

  it('names each problem in the order of the words: a second user, an unknown flag, a flag without its value, a missing reason', () => {
    // Act
    const second = parseDeleteUserArgs('old-bot other-bot --reason "x"');
    const unknown = parseDeleteUserArgs('old-bot --reasn "x"');
    const noValue = parseDeleteUserArgs('old-bot --account --reason "x"');
    const kindFlag = parseDeleteUserArgs('old-bot --for 4h --reason "x"');
    const empty = parseDeleteUserArgs('');

    // Assess
    expect(second.problems).toEqual(["Name one IAM user: I don't know what `other-bot` is for."]);
    expect(unknown.problems[0]).toMatch(/^Unknown option `--reasn`\./);
    expect(unknown.problems.at(-1)).toBe('Say why with `--reason "..."`.');
    expect(noValue.problems).toEqual(['`--account` needs a value.']);
    expect(noValue.draft.justification).toBe('x');
    expect(kindFlag.problems[0]).toMatch(/^Unknown option `--for`\./);
    expect(empty.problems).toEqual(['Name the IAM user to delete.', 'Say why with `--reason "..."`.']);
  });
});
