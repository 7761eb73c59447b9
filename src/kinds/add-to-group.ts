/** add-to-group: an existing IAM user added to groups the policy lists. */
import { changeKind } from './change.js';

export const addToGroup = changeKind('add-to-group');
