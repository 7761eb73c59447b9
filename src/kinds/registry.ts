/** Every kind of request, by id: the life cycle finds a request's kind here instead of branching on its name. */
import type { RequestKind } from '../services/plans/types.js';
import type { AccessRequest } from '../store/requests.js';
import { addToGroup } from './add-to-group.js';
import { createUser } from './create-user.js';
import { deleteUser } from './delete-user/index.js';
import { reservesName as factsReservesName, kindIdOf } from './facts.js';
import { offboard } from './offboard.js';
import { removeFromGroup } from './remove-from-group.js';
import { rotateKey } from './rotate-key.js';
import { setOwner } from './set-owner.js';
import { temporaryMembership } from './temporary-membership/index.js';
import type { RequestKindModule } from './types.js';

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
