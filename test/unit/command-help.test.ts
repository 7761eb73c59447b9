import { describe, expect, it } from 'vitest';
import { COMMAND_HELP } from '../../src/blocks/command-help.js';
import { subcommands } from '../../src/listeners/commands/index.js';

describe('the help of the /iam subcommands', () => {
  it('lists in the App Home (COMMAND_HELP) exactly the subcommands /iam routes, in the same order', () => {
    // Act
    const routed = subcommands.map(({ name, summary, usage, example }) => ({ name, summary, usage, example }));

    // Assess
    expect(routed).toEqual([...COMMAND_HELP]);
  });
});
