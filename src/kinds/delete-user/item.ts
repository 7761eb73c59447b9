/**
 * What a delete-user request holds besides the shared fields: its deletion (the window and where it stands). Data
 * only (type imports aside): the store merges `deletionItemFields` into the request item's schema (src/kinds/facts.ts
 * lists it), and the type joins AccessRequest below.
 */
import type { KindItemFields } from '../../store/requests.js';

/** delete-user: where a deletion stands. Times are ISO strings; who clicked is a Slack id. */
export interface DeletionState {
  /** When the user is deleted unless cancelled: the run's commit (the disabling) sets it. */
  deleteAt?: string;
  /** Cancel, within the window: who, when (the run's wait step then restores what was disabled). */
  cancel?: { by: string; at: string };
  /** When the wait step ended the window: cancelled (restoring) or deleting. */
  endedAt?: string;
  /** When DeleteUser succeeded (or found the user gone). */
  deletedAt?: string;
  /**
   * A leaver's user (`leavers.deleteAfterDays`): the offboarding whose report announced the deletion. Its window
   * already passed there: the run deletes at once after the disabling, and DMs nobody (the report says it).
   */
  offboarding?: string;
}

declare module '../../store/requests.js' {
  interface AccessRequest {
    /** delete-user: its window and where it stands (see DeletionState). */
    deletion?: DeletionState;
  }
}

/** The request item's `deletion` attribute, as the dynamoose schema declares it. */
export const deletionItemFields: KindItemFields = {
  deletion: {
    type: Object,
    schema: {
      deleteAt: String,
      cancel: { type: Object, schema: { by: String, at: String } },
      endedAt: String,
      deletedAt: String,
      offboarding: String,
    },
  },
};
