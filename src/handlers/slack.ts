import { createSlackHandler } from '../app.js';
import { loadConfig } from '../config.js';
import { buildDeps } from '../deps.js';

/** Lambda entry point for `POST /slack/events`. Configuration is checked at cold start. */
export const handler = createSlackHandler(buildDeps(loadConfig()));
