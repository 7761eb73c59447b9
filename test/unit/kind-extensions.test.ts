/**
 * A kind is one module: what it declares in its module (src/kinds/types.ts: request item fields, command flags, form
 * inputs, draft checks, an App Home section) reaches the shared parts that read them (the store's schema, the change
 * commands' parser, the group membership form), with no edit to those parts. Shown with a kind made up here, `probe`,
 * listed beside the real kinds the way src/kinds/registry.ts and src/kinds/facts.ts list them.
 */
import dynamoose from 'dynamoose';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { membershipFormErrors, membershipModal, readMembershipForm } from '../../src/blocks/membership-modal.js';
import { loadConfig } from '../../src/config.js';
import { itemFieldsOf, KIND_FACTS, reservesName } from '../../src/kinds/facts.js';
import {
  allKindFormFields,
  homeSections,
  KINDS,
  kindChecks,
  kindFlags,
  kindFormFields,
} from '../../src/kinds/registry.js';
import type { RequestKindModule } from '../../src/kinds/types.js';
import { parseChangeArgs } from '../../src/listeners/commands/change-args.js';
import { RequestStore } from '../../src/store/requests.js';
import { testPolicy } from '../support/policy.js';

/** A made-up kind: add-to-group with a "level" (`--level 3`, a form input), stored as `probe: { level }`. */
const probe: RequestKindModule = {
  ...KINDS['add-to-group'],
  draft: {
    flags: [
      {
        name: '--level',
        read: (value) => {
          const level = Number(value);
          return Number.isInteger(level) ? { fields: { level } } : { problem: '`--level` takes a whole number.' };
        },
      },
    ],
    formFields: [
      {
        name: 'level',
        blockId: 'probe_level',
        forms: ['add-to-group'],
        input: (prefill) => ({
          label: 'Level',
          element: {
            type: 'plain_text_input',
            ...(prefill.fields?.level ? { initial_value: String(prefill.fields.level) } : {}),
          },
          optional: true,
        }),
        read: (value) => (value ? { fields: { level: Number(value) } } : {}),
      },
    ],
    checks: [{ kinds: ['add-to-group'], local: () => ({ level: 'too high' }) }],
  },
  home: { name: 'probes', blocks: async () => [{ type: 'section', text: { type: 'mrkdwn', text: 'probe' } }] },
};
const kinds = { ...KINDS, probe };
const probeItemFields = { probe: { type: Object, schema: { level: Number } } };

const policy = () =>
  loadConfig({ SLACK_SIGNING_SECRET: 'unit-test-secret', SLACK_BOT_TOKEN: 'xoxb-unit' }, () => stringify(testPolicy()))
    .policy;

/** A request store over no table (no call is made): only its schema is used. */
const storeWith = (prefix: string, itemFields?: Record<string, unknown>) =>
  new RequestStore(
    { region: 'us-east-1', prefix, create: false },
    { reservesName, ...(itemFields ? { itemFields } : {}) },
  );

const request = {
  id: 'req-probe',
  kind: 'add-to-group',
  status: 'pending',
  groups: ['ci-deployers'],
  probe: { level: 3 },
  version: 1,
};

describe("a kind's extension points", () => {
  it("stores the request item fields a kind declares, and drops them when the kind's fields are not given", async () => {
    // Prepare
    const itemFields = itemFieldsOf({ ...KIND_FACTS, probe: { reservesName: false, itemFields: probeItemFields } });
    const withKind = storeWith('unit-probe-', itemFields);
    const without = storeWith('unit-plain-');

    // Act
    const written = dynamoose.aws.converter().unmarshall((await new withKind.model(request).toDynamo()) as never);
    const dropped = dynamoose.aws.converter().unmarshall((await new without.model(request).toDynamo()) as never);

    // Assess
    expect(Object.keys(itemFields).sort()).toEqual(['deletion', 'grant', 'probe']); // temporary-membership's, and the probe's
    expect(written.probe).toEqual({ level: 3 });
    expect(dropped.probe).toBeUndefined();
  });

  it("refuses a kind's item field that has a shared field's name, or that two kinds declare differently", () => {
    // Act, Assess
    expect(() => storeWith('unit-clash-', { status: Number })).toThrow(/already has: status/);
    expect(() =>
      itemFieldsOf({
        a: { reservesName: false, itemFields: { level: Number } },
        b: { reservesName: false, itemFields: { level: String } },
      }),
    ).toThrow(/level is declared twice/);
  });

  it("reads a kind's flag in the change commands, suggests it for a typo, and knows it only while the kind is listed", () => {
    // Act
    const read = parseChangeArgs('add-to-group', 'build-bot ci-deployers --level 3 --reason "x"', kindFlags(kinds));
    const bad = parseChangeArgs('add-to-group', 'build-bot ci-deployers --level high', kindFlags(kinds));
    const typo = parseChangeArgs('add-to-group', 'build-bot ci-deployers --levle 3', kindFlags(kinds));
    const unlisted = parseChangeArgs('add-to-group', 'build-bot ci-deployers --level 3');

    // Assess
    expect(read).toEqual({
      draft: {
        kind: 'add-to-group',
        userName: 'build-bot',
        groups: ['ci-deployers'],
        justification: 'x',
        fields: { level: 3 },
      },
      problems: [],
    });
    expect(bad.problems).toEqual(['`--level` takes a whole number.']);
    expect(typo.problems).toEqual(['Unknown option `--levle`. Did you mean `--level`?']);
    expect(unlisted.problems).toEqual(['Unknown option `--level`.']);
  });

  it("shows a kind's input in the form it names, pre-filled, reads it back and shows its problems on it", () => {
    // Prepare
    const fields = kindFormFields('add-to-group', kinds);

    // Act
    const form = membershipModal(policy(), { kind: 'add-to-group' }, { fields: { level: 2 } }, fields);
    const removeForm = membershipModal(
      policy(),
      { kind: 'remove-from-group' },
      {},
      kindFormFields('remove-from-group', kinds),
    );
    const draft = readMembershipForm(
      {
        membership_user: { value: { type: 'plain_text_input', value: 'build-bot' } },
        probe_level: { value: { type: 'plain_text_input', value: ' 5 ' } },
      } as never,
      { kind: 'add-to-group' },
      fields,
    );
    const errors = membershipFormErrors({ level: 'too high', groups: 'no group' }, allKindFormFields(kinds));

    // Assess
    const blockIds = form.blocks.map((b) => b.block_id);
    expect(blockIds.slice(-2)).toEqual(['probe_level', 'membership_justification']);
    expect(JSON.stringify(form.blocks)).toContain('"initial_value":"2"');
    expect(removeForm.blocks.map((b) => b.block_id)).not.toContain('probe_level');
    expect(draft.fields).toEqual({ level: 5 });
    expect(errors).toEqual({ probe_level: 'too high', membership_groups: 'no group' });
  });

  it("lists a kind's draft checks for the kinds it names and its App Home section", () => {
    // Act, Assess
    expect(
      kindChecks('add-to-group', kinds).some(
        (c) => c.local?.(policy(), { kind: 'add-to-group', userName: 'u' }, []).level,
      ),
    ).toBe(true);
    expect(
      kindChecks('remove-from-group', kinds).filter(
        (c) => c.local?.(policy(), { kind: 'remove-from-group', userName: 'u' }, []).level,
      ),
    ).toEqual([]);
    expect(homeSections(kinds).map((s) => s.name)).toEqual(['temporary memberships', 'probes']);
  });
});
