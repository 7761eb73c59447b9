import type { AccessRequest } from '../../store/requests.js';
import type { PlanStep } from '../plans/types.js';

/**
 * The plan of a create-user request, from its stored fields: CreateUser (path, tags), AddUserToGroup per group,
 * CreateLoginProfile and/or CreateAccessKey as asked. create-user's run (src/kinds/create-user-run.ts) runs exactly
 * these writes, in this order (the last two in its one credentials step).
 */
export function createUserPlan(request: AccessRequest): PlanStep[] {
  const userName = request.userName;
  return [
    { op: 'CreateUser', userName, path: request.path },
    ...request.groups.map((group): PlanStep => ({ op: 'AddUserToGroup', userName, group })),
    ...(request.accessType !== 'keys' ? [{ op: 'CreateLoginProfile' as const, userName }] : []),
    ...(request.accessType !== 'console' ? [{ op: 'CreateAccessKey' as const, userName }] : []),
  ];
}

/** The plan of any request: a change request's stored plan, or create-user's from its fields. */
export const planOf = (request: AccessRequest): PlanStep[] => request.plan ?? createUserPlan(request);
