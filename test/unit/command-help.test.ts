import { describe, expect, it } from 'vitest';
import { COMMAND_HELP, commandHelp } from '../../src/blocks/command-help.js';
import { KINDS, kindFlags } from '../../src/kinds/registry.js';
import type { RequestKindModule } from '../../src/kinds/types.js';
import { subcommands } from '../../src/listeners/commands/index.js';

describe('the help of the /iam subcommands', () => {
  it('lists in the App Home (COMMAND_HELP) exactly the subcommands /iam routes, in the same order', () => {
    // Act
    const routed = subcommands.map(({ name, summary, usage, example }) => ({ name, summary, usage, example }));

    // Assess
    expect(routed).toEqual([...COMMAND_HELP]);
  });
});

describe('the help of the kinds\u2019 commands', () => {
  it('is each kind module\u2019s own (RequestKindModule.command): /iam help lists exactly the registry\u2019s commands', () => {
    // Prepare: the kinds that declare a command, and the help each declares
    const declared = Object.values(KINDS).flatMap((k) => (k.command ? [{ name: k.id, ...k.command }] : []));
    const kindNames = new Set<string>(Object.keys(KINDS));

    // Act
    const listed = COMMAND_HELP.filter((c) => kindNames.has(c.name));

    // Assess: every command of a kind is listed from its module, in the registry's order; no other kind name is
    expect(declared.map((c) => c.name)).toEqual([
      'create-user',
      'add-to-group',
      'remove-from-group',
      'set-owner',
      'rotate-key',
      'offboard',
      'delete-user',
    ]);
    expect(listed).toEqual(declared);
  });

  it('lists a new kind\u2019s command from its module alone, between the bot\u2019s own commands and the verbs', () => {
    // Prepare: a kind of a test's own, as a new module with its registry line would add it
    const command = { summary: 'asks for a thing.', usage: '/iam new-thing <x>', example: '/iam new-thing x' };
    const newKind = { ...KINDS['set-owner'], id: 'new-thing', command } as unknown as RequestKindModule;

    // Act
    const names = commandHelp({ ...KINDS, 'new-thing': newKind }).map((c) => c.name);

    // Assess
    expect(names.indexOf('new-thing')).toBe(names.indexOf('delete-user') + 1);
    expect(names.slice(0, 2)).toEqual(['help', 'whoami']);
    expect(names[names.indexOf('new-thing') + 1]).toBe('reissue');
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
