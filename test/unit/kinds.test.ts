/** The kinds registry (src/kinds/registry.ts): every kind has its module, and who may not decide a request. */
import { describe, expect, it } from 'vitest';
import { KIND_FACTS, reservesName } from '../../src/kinds/facts.js';
import { KINDS, kindOf } from '../../src/kinds/registry.js';
import { REQUEST_KINDS } from '../../src/services/plans/types.js';
import type { AccessRequest } from '../../src/store/requests.js';

const request = (fields: Partial<AccessRequest>) =>
  ({
    requester: 'U0REQUEST1',
    recipient: 'U0RECIPIE1',
    owner: 'U0OWNER001',
    userName: 'build-bot',
    ...fields,
  }) as AccessRequest;

describe('the kinds registry', () => {
  it('has a module for every kind a request can be, under its own id', () => {
    expect(Object.keys(KINDS).sort()).toEqual([...REQUEST_KINDS].sort());
    for (const id of REQUEST_KINDS) expect(KINDS[id].id).toBe(id);
  });

  it('reads a request stored before kinds existed (no kind) as create-user', () => {
    expect(kindOf(request({})).id).toBe('create-user');
  });

  it('lets only create-user reserve its IAM user name', () => {
    expect(REQUEST_KINDS.filter((id) => KINDS[id].reservesName)).toEqual(['create-user']);
  });

  it('gives the store the same name reservation from its data-only facts as the kind modules declare', () => {
    expect(Object.keys(KIND_FACTS).sort()).toEqual([...REQUEST_KINDS].sort());
    for (const id of REQUEST_KINDS) expect(reservesName({ kind: id }), id).toBe(KINDS[id].reservesName);
    expect(reservesName({})).toBe(true); // stored before kinds existed: create-user
    expect(() => reservesName({ kind: 'no-such-kind' as never })).toThrow(/Unknown request kind/);
  });

  it('excludes the recipient of new credentials, the owner of a changed user, and the new owner of set-owner', () => {
    // Act
    const excludedOf = (kind: AccessRequest['kind']) =>
      kindOf(request({ kind }))
        .excluded(request({ kind }))
        .map((e) => e.user);

    // Assess
    expect(excludedOf('create-user')).toEqual(['U0RECIPIE1']);
    expect(excludedOf('add-to-group')).toEqual(['U0OWNER001']);
    expect(excludedOf('set-owner')).toEqual(['U0OWNER001', 'U0RECIPIE1']);
    expect(excludedOf('offboard')).toEqual(['U0OWNER001']);
  });
});
