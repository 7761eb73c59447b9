import { loadConfig } from '../config.js';
import { buildDeps } from '../deps.js';
import { runJob } from '../jobs/worker.js';

const deps = buildDeps(loadConfig());

/** Lambda entry point for jobs, invoked asynchronously by the Slack function. */
export const handler = async (event: unknown) => runJob(deps, event);
