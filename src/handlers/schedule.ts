import { loadConfig } from '../config.js';
import { buildDeps } from '../deps.js';
import { runScheduledTasks, tasksFor } from '../jobs/schedule.js';

const deps = buildDeps(loadConfig());

/**
 * Lambda entry point for the schedule (EventBridge): every 15 minutes the regular tasks; once a day the tasks the
 * event's input names (see tasksFor).
 */
export const handler = async (event?: unknown) => runScheduledTasks(deps, tasksFor(event));
