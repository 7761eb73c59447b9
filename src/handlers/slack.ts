import { createSlackHandler } from '../app.js';
import { buildDeps } from '../build-deps.js';
import { loadConfig } from '../config.js';

/** Lambda entry point for `POST /slack/events`. Configuration is checked at cold start. */
export const handler = createSlackHandler(buildDeps(loadConfig(), { answeringSlack: true }));
