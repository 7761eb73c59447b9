import type { Deps } from '../deps.js';
import { type HttpEvent, type HttpHandler, type HttpResult, header } from '../http/types.js';
import { logger, withLogKeys } from '../logger.js';
import { revealLink, viewLink } from '../services/credential-links.js';
import { SECURITY_HEADERS } from './assets.js';
import {
  errorPage,
  failedPage,
  gonePage,
  methodNotAllowedPage,
  openedPage,
  type Page,
  pendingPage,
  renderDocument,
  revealedPage,
  unavailablePage,
} from './pages.js';

function respond(page: Page, method: string, extra: Record<string, string> = {}): HttpResult {
  return {
    statusCode: page.status,
    headers: { 'content-type': 'text/html; charset=utf-8', ...SECURITY_HEADERS, ...extra },
    body: method === 'HEAD' ? '' : renderDocument(page),
  };
}

/** The token from `/credentials/{token}`: API Gateway's path parameter, else the raw path. */
function tokenOf(event: HttpEvent): string | undefined {
  const param = event.pathParameters?.token;
  if (param) return param;
  const m = /^\/credentials\/([^/]+)\/?$/.exec(event.rawPath ?? '');
  return m?.[1] ? decodeURIComponent(m[1]) : undefined;
}

/**
 * The credential page handler (`GET`/`HEAD`/`POST /credentials/{token}`). GET and HEAD only look; POST is the
 * Reveal click. Every response, errors included, carries the security headers. Neither the token nor anything
 * revealed is ever logged.
 */
export function createWebHandler(deps: Deps): HttpHandler {
  const handle = pageHandler(deps);
  // Every log line of a page request says which (never the token: it is the credential's link), and the last how
  // it ended (the status code).
  return (event, context) => {
    const method = event.requestContext?.http?.method?.toUpperCase() ?? 'GET';
    const invocationId = (context as { awsRequestId?: string } | undefined)?.awsRequestId;
    return withLogKeys({ action: `credential-page:${method}`, invocationId }, async () => {
      const result = await handle(event, context);
      logger.info('Credential page answered', { outcome: String(result.statusCode) });
      return result;
    });
  };
}

function pageHandler(deps: Deps): HttpHandler {
  return async (event) => {
    const method = event.requestContext?.http?.method?.toUpperCase() ?? 'GET';
    try {
      const token = tokenOf(event);
      const now = deps.clock.now().getTime();
      if (method === 'GET' || method === 'HEAD') {
        const view = await viewLink(deps, token);
        switch (view.state) {
          case 'pending':
            return respond(pendingPage(view.link, now), method);
          case 'opened':
            return respond(openedPage(view.link.openedAt), method);
          case 'failed':
            return respond(failedPage(view.link), method);
          default:
            return respond(gonePage(), method);
        }
      }
      if (method === 'POST') {
        const outcome = await revealLink(deps, token, {
          sourceIp: event.requestContext?.http?.sourceIp,
          userAgent: header(event, 'user-agent'),
        });
        switch (outcome.state) {
          case 'revealed':
            return respond(revealedPage(outcome.link, outcome.bundle), method);
          case 'opened':
            return respond(openedPage(outcome.link.openedAt), method);
          case 'failed':
            return respond(failedPage(outcome.link), method);
          case 'unavailable':
            return respond(unavailablePage(outcome.link, now), method, { 'retry-after': '30' });
          default:
            return respond(gonePage(), method);
        }
      }
      return respond(methodNotAllowedPage(), method, { allow: 'GET, HEAD, POST' });
    } catch (error) {
      logger.error('The credential page failed', { method, errorName: (error as Error)?.name });
      return respond(errorPage(), method);
    }
  };
}
