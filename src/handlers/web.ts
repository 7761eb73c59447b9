import { buildDeps } from '../build-deps.js';
import { loadConfig } from '../config.js';
import { createWebHandler } from '../web/index.js';

/** Lambda entry point for the one-time credential page. */
export const handler = createWebHandler(buildDeps(loadConfig()));
