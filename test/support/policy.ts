/** The access policy the tests run with (policy.yml's shape). Ids are obviously fake. */
export function testPolicy(overrides: Record<string, unknown> = {}) {
  return {
    approvals: {
      channel: 'C0APPROVALS',
      approvers: { users: ['U0APPROVER1', 'U0APPROVER2', 'U0APPROVER3'], usergroups: ['S0SECURITY'] },
      requiredApprovals: 1,
    },
    groups: [
      { name: 'ci-deployers', description: 'Deploy through CI' },
      { name: 'read-only', description: 'Read-only' },
      { name: 'production-admins', description: 'Admin', requiredApprovals: 2 },
      { name: 'billing-viewers', description: 'Billing', approvers: { users: ['U0FINANCE1'] } },
    ],
    users: { path: '/iam-slack-bot/' },
    keys: { remindAfterDays: 80, maxAgeDays: 90, rotationGraceDays: 7 },
    links: { lifetimeHours: 24 },
    requests: { lifetimeHours: 72 },
    accounts: [],
    ...overrides,
  };
}
