import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpEvent, HttpHandler } from '../http/types.js';

/** One route, as declared for API Gateway in serverless.yml. `{name}` segments become path parameters. */
export interface Route {
  methods: string[];
  path: string;
  handler: HttpHandler;
}

function match(pattern: string, path: string): Record<string, string> | undefined {
  const names: string[] = [];
  const re = new RegExp(
    `^${pattern.replace(/\{(\w+)\}/g, (_, n: string) => {
      names.push(n);
      return '([^/]+)';
    })}$`,
  );
  const m = re.exec(path);
  if (!m) return undefined;
  return Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1] ?? '')]));
}

/**
 * Serves Lambda HTTP handlers on this machine by turning each request into an API Gateway HTTP API (2.0) event,
 * so local runs and tests exercise exactly the handlers Lambda runs.
 */
export async function serveHandlers(
  routes: Route[],
  port: number,
  host = '127.0.0.1',
): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://local');
    const method = req.method ?? 'GET';
    for (const route of routes) {
      const params = match(route.path, url.pathname);
      if (!params || !route.methods.includes(method)) continue;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
      const body = Buffer.concat(chunks);
      const event = {
        version: '2.0',
        routeKey: `${method} ${route.path}`,
        rawPath: url.pathname,
        rawQueryString: url.search.slice(1),
        headers,
        pathParameters: params,
        requestContext: {
          http: {
            method,
            path: url.pathname,
            protocol: 'HTTP/1.1',
            sourceIp: req.socket.remoteAddress ?? '',
            userAgent: headers['user-agent'] ?? '',
          },
          requestId: `local-${Date.now()}`,
          routeKey: `${method} ${route.path}`,
          stage: '$default',
          timeEpoch: Date.now(),
        },
        body: body.length ? body.toString('base64') : undefined,
        isBase64Encoded: body.length > 0,
      } as unknown as HttpEvent;
      try {
        const result = await route.handler(event);
        res.writeHead(result.statusCode ?? 200, result.headers as Record<string, string>);
        res.end(
          method === 'HEAD'
            ? undefined
            : result.isBase64Encoded
              ? Buffer.from(result.body ?? '', 'base64')
              : result.body,
        );
      } catch {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('Internal error');
      }
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('Not found');
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const actual = (server.address() as AddressInfo).port;
  return { server, url: `http://${host}:${actual}` };
}
