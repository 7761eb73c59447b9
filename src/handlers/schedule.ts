import { loadConfig } from '../config.js';
import { buildDeps } from '../deps.js';
import { runScheduledTasks } from '../jobs/schedule.js';

const deps = buildDeps(loadConfig());

/** Lambda entry point for the schedule (EventBridge, every 15 minutes). */
export const handler = async () => runScheduledTasks(deps);
