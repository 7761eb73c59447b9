/** Every kind of request, by id: the life cycle finds a request's kind here instead of branching on its name. */
import type { RequestKind } from '../services/plans/types.js';
import type { AccessRequest } from '../store/requests.js';
import { addToGroup } from './add-to-group.js';
import type { ChangeKind } from './change-rules.js';
import { createUser } from './create-user.js';
import { deleteUser } from './delete-user/index.js';
import { reservesName as factsReservesName, kindIdOf } from './facts.js';
import { offboard } from './offboard.js';
import { removeFromGroup } from './remove-from-group.js';
import { rotateKey } from './rotate-key.js';
import { setOwner } from './set-owner.js';
import { temporaryMembership } from './temporary-membership/index.js';
import type { CommandFlag, DraftCheck, FormField, HomeSection, RequestKindModule } from './types.js';

export const KINDS: Readonly<Record<RequestKind, RequestKindModule>> = {
  'create-user': createUser,
  'add-to-group': addToGroup,
  'remove-from-group': removeFromGroup,
  'set-owner': setOwner,
  'rotate-key': rotateKey,
  offboard,
  'temporary-membership': temporaryMembership,
  'delete-user': deleteUser,
};

/** The module of a request's kind (a request stored before kinds existed has no `kind`: create-user). */
export const kindOf = (request: Pick<AccessRequest, 'kind'>): RequestKindModule => KINDS[kindIdOf(request)];

/** Whether a request holds its IAM user name until it ends (src/kinds/facts.ts, data only: what the store is given). */
export const reservesName = factsReservesName;

/** The kinds listed (KINDS, or a test's list with a kind of its own). */
type KindList = Readonly<Record<string, RequestKindModule>>;

/** The kinds' extensions of change drafts, in the list's order. */
const drafts = (kinds: KindList) => Object.values(kinds).flatMap((k) => (k.draft ? [k.draft] : []));

/** The flags the kinds add to the change commands, in the list's order (after the shared ones). */
export const kindFlags = (kinds: KindList = KINDS): CommandFlag[] => drafts(kinds).flatMap((d) => d.flags ?? []);

/** The inputs the kinds add to the change form opened for `kind`, in the list's order. */
export const kindFormFields = (kind: ChangeKind, kinds: KindList = KINDS): FormField[] =>
  drafts(kinds).flatMap((d) => (d.formFields ?? []).filter((f) => f.forms.includes(kind)));

/** Every input the kinds add to any change form (their names and block ids: where their problems show). */
export const allKindFormFields = (kinds: KindList = KINDS): FormField[] =>
  drafts(kinds).flatMap((d) => d.formFields ?? []);

/** The checks the kinds make on a draft of `kind`, in the list's order. */
export const kindChecks = (kind: ChangeKind, kinds: KindList = KINDS): DraftCheck[] =>
  drafts(kinds).flatMap((d) => (d.checks ?? []).filter((c) => c.kinds.includes(kind)));

/** The kinds' sections of the App Home, in the list's order. */
export const homeSections = (kinds: KindList = KINDS): HomeSection[] =>
  Object.values(kinds).flatMap((k) => (k.home ? [k.home] : []));
