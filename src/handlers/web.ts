import { loadConfig } from '../config.js';
import { buildDeps } from '../deps.js';
import { createWebHandler } from '../web/index.js';

/** Lambda entry point for the one-time credential page. */
export const handler = createWebHandler(buildDeps(loadConfig()));
