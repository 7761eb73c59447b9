import { describe, expect, it } from 'vitest';
import { COMMAND_HELP } from '../../src/blocks/command-help.js';
import { kindFlags } from '../../src/kinds/registry.js';
import { subcommands } from '../../src/listeners/commands/index.js';

describe('the help of the /iam subcommands', () => {
  it('lists in the App Home (COMMAND_HELP) exactly the subcommands /iam routes, in the same order', () => {
    // Act
    const routed = subcommands.map(({ name, summary, usage, example }) => ({ name, summary, usage, example }));

    // Assess
    expect(routed).toEqual([...COMMAND_HELP]);
  });
});

describe('the usage lines of the change commands in /iam help', () => {
  it('name every flag of a kind that the command reads, and none it refuses', () => {
    // Prepare: the flags each change command reads, as the kinds declare them (the usage is written by hand)
    const commands = ['add-to-group', 'remove-from-group', 'set-owner'] as const;

    // Act
    const named = commands.map((kind) => {
      const usage = COMMAND_HELP.find((c) => c.name === kind)?.usage ?? '';
      const reads = kindFlags().filter((f) => !('problem' in f.read(f.bare ? '' : '1h', { kind })));
      return { kind, missing: reads.filter((f) => !usage.includes(f.name)).map((f) => f.name) };
    });
    const usage = (name: string) => COMMAND_HELP.find((c) => c.name === name)?.usage ?? '';

    // Assess
    expect(named).toEqual(commands.map((kind) => ({ kind, missing: [] })));
    expect(usage('add-to-group')).toContain('[--break-glass]');
    expect(usage('add-to-group')).toContain('[--like iam-user]');
    expect(usage('remove-from-group')).not.toMatch(/--for|--break-glass|--like/);
  });
});
