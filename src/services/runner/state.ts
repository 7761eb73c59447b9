/**
 * What a run's stored state says, read without the store (the Slack function loads the store lazily, and the store
 * uses this too: so no import of it here).
 */

/** Whether a run has passed its `commit` step (the request has ended) and has steps left (its tail). */
export function inRunTail(run: { cursor: number; steps: readonly { t: string }[] } | undefined): boolean {
  return (
    run !== undefined && run.cursor < run.steps.length && run.steps.slice(0, run.cursor).some((s) => s.t === 'commit')
  );
}
