import { createSlackHandler } from '../app.js';
import type { Deps } from '../deps.js';
import { createWebHandler } from '../web/index.js';
import type { Route } from './http-server.js';

/** The HTTP API's routes, as serverless.yml declares them, for local runs and tests. */
export function appRoutes(deps: Deps): Route[] {
  const web = createWebHandler(deps);
  return [
    { methods: ['POST'], path: '/slack/events', handler: createSlackHandler(deps) },
    { methods: ['GET', 'HEAD', 'POST'], path: '/credentials/{token}', handler: web },
  ];
}
