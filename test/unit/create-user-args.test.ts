import { describe, expect, it } from 'vitest';
import { parseCreateUserArgs, tokenize } from '../../src/listeners/commands/create-user-args.js';

describe('parseCreateUserArgs (the inline form of /iam create-user)', () => {
  it('reads every option of a complete command, with a Slack mention and a quoted reason', () => {
    const text =
      'build-bot --for <@U0ALICE|alice> --groups ci-deployers,read-only --keys --console --account staging --tag team=platform --reason "CI deploys for the web app"';

    const { draft, problems } = parseCreateUserArgs(text);

    expect(problems).toEqual([]);
    expect(draft).toEqual({
      userName: 'build-bot',
      recipient: 'U0ALICE',
      groups: ['ci-deployers', 'read-only'],
      accessType: 'both',
      account: 'staging',
      tags: 'team=platform',
      justification: 'CI deploys for the web app',
    });
  });

  it('accepts --flag=value, typographic quotes, repeated --group and --access', () => {
    const { draft, problems } = parseCreateUserArgs(
      'build-bot --group=ci-deployers --group read-only --access console --reason “needs the console”',
    );

    expect(problems).toEqual([]);
    expect(draft).toMatchObject({
      groups: ['ci-deployers', 'read-only'],
      accessType: 'console',
      justification: 'needs the console',
    });
  });

  it('undoes Slack escaping in free text', () => {
    const { draft } = parseCreateUserArgs('x --reason "R&amp;D &lt;temporary&gt;"');

    expect(draft.justification).toBe('R&D <temporary>');
  });

  it('leaves out what was not given, so the form can ask for it', () => {
    const { draft, problems } = parseCreateUserArgs('build-bot');

    expect(problems).toEqual([]);
    expect(draft).toEqual({ userName: 'build-bot' });
  });

  it('refuses a recipient typed as plain text instead of a Slack mention', () => {
    const { problems } = parseCreateUserArgs('build-bot --for @alice');

    expect(problems[0]).toMatch(/`--for` needs a Slack mention/);
  });

  it('names an unknown option with the closest known one, and a stray word', () => {
    const { problems } = parseCreateUserArgs('build-bot extra --grups ci-deployers');

    expect(problems).toEqual([
      "I don't know what `extra` is for (the user name is `build-bot`).",
      'Unknown option `--grups`. Did you mean `--groups`?',
      "I don't know what `ci-deployers` is for (the user name is `build-bot`).",
    ]);
  });

  it('says when an option lacks its value', () => {
    expect(parseCreateUserArgs('build-bot --reason').problems).toEqual(['`--reason` needs a value.']);
  });
});

describe('tokenize', () => {
  it('keeps a mention whose display name has a space as one word', () => {
    expect(tokenize('--for <@U0ALICE|alice smith> --keys')).toEqual(['--for', '<@U0ALICE|alice smith>', '--keys']);
  });
});
