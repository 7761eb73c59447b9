/**
 * What the change kinds' commands and forms read by kind (src/kinds/forms.ts): the words after the IAM user name are
 * groups for the membership kinds and the new owner for set-owner; the membership form reads its kind back.
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { membershipModal, readMembershipFormContext } from '../../src/blocks/membership-modal.js';
import { loadConfig } from '../../src/config.js';
import { changeSummary } from '../../src/kinds/summaries.js';
import { parseChangeArgs } from '../../src/listeners/commands/change-args.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { testPolicy } from '../support/policy.js';

describe('the change commands and forms', () => {
  it('read groups after the user name for add-to-group and remove-from-group, and a mention for set-owner', () => {
    // Act
    const add = parseChangeArgs('add-to-group', 'build-bot ci-deployers,read-only --reason "deploys"');
    const remove = parseChangeArgs('remove-from-group', 'build-bot read-only');
    const owner = parseChangeArgs('set-owner', 'build-bot <@U0ALICE01|alice> --reason "moved teams"');
    const ownerTwice = parseChangeArgs('set-owner', 'build-bot <@U0ALICE01> <@U0BOB0001>');

    // Assess
    expect(add.draft).toEqual({
      kind: 'add-to-group',
      userName: 'build-bot',
      groups: ['ci-deployers', 'read-only'],
      justification: 'deploys',
    });
    expect(remove.draft.groups).toEqual(['read-only']);
    expect(owner.draft).toEqual({
      kind: 'set-owner',
      userName: 'build-bot',
      newOwner: 'U0ALICE01',
      justification: 'moved teams',
    });
    expect(owner.draft.groups).toBeUndefined();
    expect(ownerTwice.problems).toHaveLength(1);
  });

  it('titles the membership form by its kind and reads the kind back, add-to-group when unreadable', () => {
    // Act
    const { policy } = loadConfig({ SLACK_SIGNING_SECRET: 'unit-test-secret', SLACK_BOT_TOKEN: 'xoxb-unit' }, () =>
      stringify(testPolicy()),
    );
    const removeForm = membershipModal(policy, { kind: 'remove-from-group' });

    // Assess
    expect(removeForm.title.text).toBe('Remove from groups');
    expect(JSON.stringify(removeForm.blocks)).toContain('Groups to remove it from');
    expect(readMembershipFormContext(removeForm.private_metadata).kind).toBe('remove-from-group');
    expect(readMembershipFormContext(JSON.stringify({ kind: 'set-owner' })).kind).toBe('add-to-group');
    expect(readMembershipFormContext('not json').kind).toBe('add-to-group');
  });

  it('says in one line what each change kind asks, and names the user alone for a kind without its own line', () => {
    // Prepare
    const r = (fields: Partial<AccessRequest>) =>
      ({
        userName: 'build-bot',
        account: 'home',
        accountId: '123456789012',
        groups: ['ci-deployers'],
        recipient: 'U0ALICE01',
        ...fields,
      }) as AccessRequest;

    // Act + Assess
    expect(changeSummary(r({ kind: 'add-to-group' }))).toBe(
      'add IAM user `build-bot` in *home* (`123456789012`) to `ci-deployers`',
    );
    expect(changeSummary(r({ kind: 'remove-from-group' }))).toMatch(
      /^remove IAM user `build-bot` .* from `ci-deployers`$/,
    );
    expect(changeSummary(r({ kind: 'set-owner' }))).toMatch(/^make <@U0ALICE01> the owner of IAM user `build-bot`/);
    expect(changeSummary(r({ kind: 'offboard' }))).toBe('offboard <@U0ALICE01> (disable the IAM users they own)');
    expect(changeSummary(r({ kind: 'create-user' }))).toBe('change IAM user `build-bot` in *home* (`123456789012`)');
  });
});
