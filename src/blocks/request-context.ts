/** What the approval message shows besides the stored request: derived from the policy when rendered. */
export interface RequestContext {
  /** Distinct approvals the request needs. */
  requiredApprovals: number;
  /** Policy description of each group, by name. */
  groupDescriptions: Record<string, string>;
}
