/**
 * Plain facts about each kind of request, as data: what the store and other small parts need without loading the kind
 * modules (which render messages). `src/build-deps.ts` gives the store `reservesName` from here, so the web and
 * schedule bundles never carry the kinds' rendering. The kind modules read their facts from this table too, so the two
 * cannot disagree. Data only: besides type imports, it imports each kind's data-only item fields (<kind>/item.ts).
 */
import type { RequestKind } from '../services/plans/types.js';
import type { AccessRequest, KindItemFields, Offboarding } from '../store/requests.js';
import { deletionItemFields } from './delete-user/item.js';
import { grantItemFields } from './temporary-membership/item.js';

export type { KindItemFields } from '../store/requests.js';

export interface KindFacts {
  /** Whether a request of this kind holds its IAM user name (a `name#` item) until it ends. */
  reservesName: boolean;
  /** The attributes its request item holds besides the shared ones (see KindItemFields). */
  itemFields?: KindItemFields;
}

export const KIND_FACTS: Readonly<Record<RequestKind, KindFacts>> = {
  'create-user': { reservesName: true },
  'add-to-group': { reservesName: false },
  'remove-from-group': { reservesName: false },
  'set-owner': { reservesName: false },
  'rotate-key': { reservesName: false },
  offboard: { reservesName: false },
  'temporary-membership': { reservesName: false, itemFields: grantItemFields },
  'delete-user': { reservesName: false, itemFields: deletionItemFields },
};

/** The kind a request was stored with before kinds existed: they were all requests for a new user. */
export const KIND_BEFORE_KINDS: RequestKind = 'create-user';

/**
 * The kind a request names, for display (a request stored before kinds existed: create-user); unchecked, so a list
 * still shows a request of a kind this version does not know.
 */
export const kindNameOf = (request: Pick<AccessRequest, 'kind'>): string => request.kind ?? KIND_BEFORE_KINDS;

/** The kind id of a request (a request stored before kinds existed has no `kind`: create-user). */
export function kindIdOf(request: Pick<AccessRequest, 'kind'>): RequestKind {
  const id = request.kind ?? KIND_BEFORE_KINDS;
  if (!(id in KIND_FACTS)) throw new Error(`Unknown request kind: ${id}`);
  return id;
}

/** Whether a request holds its IAM user name until it ends (see KindFacts.reservesName). */
export const reservesName = (request: Pick<AccessRequest, 'kind'>): boolean =>
  KIND_FACTS[kindIdOf(request)].reservesName;

/**
 * Every kind's request item attributes, merged (what the store adds to the item's schema). Throws when two kinds
 * declare the same attribute differently (the item has one schema for all kinds).
 */
export function itemFieldsOf(facts: Readonly<Record<string, KindFacts>> = KIND_FACTS): KindItemFields {
  const merged: Record<string, unknown> = {};
  for (const [kind, f] of Object.entries(facts))
    for (const [name, definition] of Object.entries(f.itemFields ?? {})) {
      if (Object.hasOwn(merged, name) && merged[name] !== definition)
        throw new Error(`Request item field ${name} is declared twice, differently (the second by ${kind})`);
      merged[name] = definition;
    }
  return merged;
}

/**
 * Whether `u` is one of the users an offboarding's deletions (`leavers.deleteAfterDays`) decided to delete: gone, or
 * going, from IAM. Nothing of theirs can be restored (Reactivate, Give to).
 */
export const deletedOnLeave = (off: Offboarding, u: { account: string; userName: string }): boolean =>
  (off.deletions?.users ?? []).some(
    (d) => d.outcome === 'deleting' && d.account === u.account && d.userName === u.userName,
  );
