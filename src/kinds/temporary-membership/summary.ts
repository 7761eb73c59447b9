/** temporary-membership's one line (src/kinds/summaries.ts lists it): imports only the shared text helpers. */
import type { AccessRequest } from '../../store/requests.js';
import { changeTitle, durationText, groupsOf } from '../titles.js';

/** "add IAM user `x` in *home* (`1234…`) to `ci-deployers` for 4h". */
export const temporaryMembershipSummary = (r: AccessRequest): string =>
  `add ${changeTitle(r)} to ${groupsOf(r)} for ${durationText(r.grant?.durationMs ?? 0)}`;
