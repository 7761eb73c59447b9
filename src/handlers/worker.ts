import { buildDeps } from '../build-deps.js';
import { loadConfig } from '../config.js';
import { handleWorkerEvent } from '../jobs/worker.js';

const deps = buildDeps(loadConfig());

/**
 * Lambda entry point for jobs, invoked asynchronously by the Slack function, and for the failed-jobs queue (the
 * records Lambda sends there once it gave up on a job).
 */
export const handler = async (event: unknown) => handleWorkerEvent(deps, event);
