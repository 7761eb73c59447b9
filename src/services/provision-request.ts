/**
 * What a run of an approved request came to, as the kinds' runs report it to the provisioning job. (Create-user's
 * run, which lived here, is on the resumable runner now: src/kinds/create-user-run.ts.)
 */
export type ProvisionOutcome = 'done' | 'failed' | 'skipped';
