/** What the day-in-the-life benches (org.ts, access-review.ts) share: a seeded random generator and real I/O for the SDK. */
import type { VirtualTime } from './virtual-time.js';

/** A seeded random generator (mulberry32): the same company on every run. */
export function random(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An SDK request handler that sends with the global fetch (whose timers are undici's own, not the virtual clock's). */
export function realFetchHandler(vt: VirtualTime) {
  return {
    async handle(request: {
      protocol: string;
      hostname: string;
      port?: number;
      path: string;
      method: string;
      headers: Record<string, string>;
      body?: unknown;
    }) {
      // fetch sets content-length from the body itself (undici refuses one given alongside: 'invalid content-length header')
      const { host: _host, 'content-length': _length, ...headers } = request.headers;
      // the request itself, and only it, is real I/O: the SDK's retry backoff around it passes in virtual time
      const res = await vt.real(() =>
        fetch(`${request.protocol}//${request.hostname}${request.port ? `:${request.port}` : ''}${request.path}`, {
          method: request.method,
          headers,
          ...(request.body !== undefined ? { body: request.body as string } : {}),
        }).then(async (r) => ({ r, body: new Uint8Array(await r.arrayBuffer()) })),
      );
      return {
        response: { statusCode: res.r.status, headers: Object.fromEntries(res.r.headers.entries()), body: res.body },
      };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
    destroy() {},
  };
}
