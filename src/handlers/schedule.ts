import { buildDeps } from '../build-deps.js';
import { loadConfig } from '../config.js';
import { runScheduledTasks, tasksFor } from '../jobs/schedule.js';

const deps = buildDeps(loadConfig());

/**
 * Lambda entry point for the schedules (EventBridge): every 15 minutes the frequent tasks; once a day the tasks the
 * event's input names (`{"tasks": ["key-scan"]}`).
 */
export const handler = async (event: unknown) => runScheduledTasks(deps, tasksFor(event));
