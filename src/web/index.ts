import type { Deps } from '../deps.js';
import type { HttpHandler } from '../http/types.js';

/** The credential page handler (`GET`/`HEAD`/`POST /credentials/{token}`). */
export function createWebHandler(_deps: Deps): HttpHandler {
  return async () => ({
    statusCode: 404,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
    body: 'This link is gone.',
  });
}
