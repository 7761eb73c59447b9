import { describe, expect, it } from 'vitest';
import { parseCreateUserArgs } from '../../src/listeners/commands/create-user-args.js';

describe('quotes and apostrophes in /iam create-user, as Slack clients send them', () => {
  it("keeps an apostrophe inside a word as a letter: `--reason don't --keys` still reads --keys", () => {
    const { draft, problems } = parseCreateUserArgs("build-bot --reason don't --keys");

    expect(problems).toEqual([]);
    expect(draft).toMatchObject({ justification: "don't", accessType: 'keys' });
  });

  it('reads a typographic apostrophe inside a word as a letter', () => {
    const { draft, problems } = parseCreateUserArgs('build-bot --reason don’t --keys');

    expect(problems).toEqual([]);
    expect(draft).toMatchObject({ justification: 'don’t', accessType: 'keys' });
  });

  it.each([
    ['straight double', '"the CI can\'t deploy"'],
    ['typographic double', '“the CI can’t deploy”'],
    ['straight single', "'the CI can't deploy'"],
    ['typographic single', '‘the CI can’t deploy’'],
    ['right quotes on both sides (macOS smart quotes after a space)', '”the CI can’t deploy”'],
  ])('reads a %s quoted reason with an apostrophe inside as one value', (_, quoted) => {
    const { draft, problems } = parseCreateUserArgs(`build-bot --reason ${quoted} --keys`);

    expect(problems).toEqual([]);
    expect(draft.justification).toMatch(/^the CI can.t deploy$/);
    expect(draft.accessType).toBe('keys');
  });

  it('reads a quoted value after = (`--reason="two words"`)', () => {
    const { draft, problems } = parseCreateUserArgs('build-bot --reason="two words" --keys');

    expect(problems).toEqual([]);
    expect(draft).toMatchObject({ justification: 'two words', accessType: 'keys' });
  });

  it('answers a quote that never closes clearly instead of swallowing the options after it', () => {
    const { draft, problems } = parseCreateUserArgs('build-bot --reason "CI deploys --keys');

    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/The quote " in `"CI deploys --keys` is never closed/);
    expect(draft.accessType).toBeUndefined();
  });
});

describe('mentions in /iam create-user --for', () => {
  it('accepts the mention Slack sends for @someone', () => {
    expect(parseCreateUserArgs('b --for <@U0SOMEONE|someone>').draft.recipient).toBe('U0SOMEONE');
  });

  it('accepts a user id typed with @ (`--for @U0SOMEONE`), as typed without Slack', () => {
    const { draft, problems } = parseCreateUserArgs('b --for @U0SOMEONE');

    expect(problems).toEqual([]);
    expect(draft.recipient).toBe('U0SOMEONE');
  });
});
