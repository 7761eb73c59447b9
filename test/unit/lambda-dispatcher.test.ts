import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterEach, describe, expect, it } from 'vitest';
import { LambdaJobDispatcher } from '../../src/jobs/dispatchers.js';

interface Seen {
  method?: string;
  url?: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A local HTTP server stands for the Lambda API (moto runs functions only through Docker, which these machines do not
 * have); `answers` are its status codes in turn (then 202), with Lambda's error type for an error.
 */
async function lambdaApi(answers: Array<{ status: number; type?: string }> = []) {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      const answer = answers.shift() ?? { status: 202 };
      if (answer.type)
        res
          .writeHead(answer.status, { 'x-amzn-errortype': answer.type, 'content-type': 'application/json' })
          .end(JSON.stringify({ message: `${answer.type} from the stand-in` }));
      else res.writeHead(answer.status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { seen, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
const servers: ReturnType<typeof createServer>[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing-secret', sessionToken: 'testing-token' };

/** The SDK's signer over the request as received, at the time it says it was signed: its Authorization. */
async function expectedAuthorization(request: Seen, port: number): Promise<string> {
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(String(request.headers.authorization))?.[1]?.split(';') ?? [];
  const amzDate = String(request.headers['x-amz-date']);
  const signingDate = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  class Sha256 {
    #h: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
    constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
      this.#h =
        secret === undefined ? createHash('sha256') : createHmac('sha256', secret as string | NodeJS.ArrayBufferView);
    }
    update(d: string | ArrayBuffer | ArrayBufferView) {
      this.#h.update(d as string | NodeJS.ArrayBufferView);
    }
    async digest() {
      return new Uint8Array(this.#h.digest());
    }
  }
  const signer = new SignatureV4({ service: 'lambda', region: 'eu-west-1', sha256: Sha256, credentials });
  const headers = Object.fromEntries(signedHeaders.map((h) => [h, String(request.headers[h])]));
  const signed = await signer.sign(
    {
      method: request.method ?? '',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port,
      path: request.url ?? '',
      query: {},
      headers,
      body: request.body,
    },
    { signingDate },
  );
  return String(signed.headers.authorization);
}

describe('LambdaJobDispatcher', () => {
  it('hands the job to its invoker as an asynchronous invocation of the worker, the job as payload', async () => {
    // Prepare
    const sent: Array<{ functionName: string; payload: string }> = [];
    const invoker = {
      invokeEvent: async (functionName: string, payload: string) => void sent.push({ functionName, payload }),
    };

    // Act
    await new LambdaJobDispatcher(invoker, 'iam-slack-bot-dev-worker').dispatch({
      id: 'j1',
      type: 'whoami',
      payload: { a: 1 },
    });

    // Assess
    expect(sent.map((s) => ({ ...s, payload: JSON.parse(s.payload) }))).toEqual([
      { functionName: 'iam-slack-bot-dev-worker', payload: { id: 'j1', type: 'whoami', payload: { a: 1 } } },
    ]);
  });

  it('sends the Invoke the SDK sends (path, invocation type, body, credential scope), signed so the signer agrees', async () => {
    // Prepare
    const { seen, endpoint } = await lambdaApi();
    const port = Number(new URL(endpoint).port);
    const sdk = new LambdaClient({ region: 'eu-west-1', endpoint, credentials });
    const dispatcher = new LambdaJobDispatcher(
      { region: 'eu-west-1', endpoint, credentials },
      'iam-slack-bot-dev-worker',
    );
    const job = { id: 'j2', type: 'whoami', payload: {} };

    // Act: the same Invoke by the SDK's client and by the dispatcher
    await sdk.send(
      new InvokeCommand({
        FunctionName: 'iam-slack-bot-dev-worker',
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify(job)),
      }),
    );
    await dispatcher.dispatch(job);

    // Assess
    const [bySdk, ours] = seen;
    const scope = (r?: Seen) => /Credential=[^/]+\/\d{8}\/([^,]+),/.exec(String(r?.headers.authorization))?.[1];
    expect(ours?.method).toBe(bySdk?.method);
    expect(ours?.url).toBe(bySdk?.url);
    expect(ours?.url).toBe('/2015-03-31/functions/iam-slack-bot-dev-worker/invocations');
    expect(ours?.headers['x-amz-invocation-type']).toBe('Event');
    expect(ours?.headers['x-amz-security-token']).toBe('testing-token');
    expect(JSON.parse(ours?.body ?? '')).toEqual(JSON.parse(bySdk?.body ?? ''));
    expect(scope(ours)).toBe(scope(bySdk));
    expect(scope(ours)).toBe('eu-west-1/lambda/aws4_request');
    expect(String(ours?.headers.authorization)).toMatch(
      /SignedHeaders=[^,]*host;[^,]*x-amz-date;[^,]*x-amz-invocation-type/,
    );
    expect(ours?.headers.authorization).toBe(await expectedAuthorization(ours as Seen, port));
  });

  it('retries a throttled or failed Invoke, and names Lambda\u2019s error when it is not worth retrying', async () => {
    // Prepare
    const retried = await lambdaApi([{ status: 429, type: 'TooManyRequestsException' }, { status: 503 }]);
    const missing = await lambdaApi([{ status: 404, type: 'ResourceNotFoundException' }]);
    const config = { region: 'us-east-1', credentials };

    // Act
    await new LambdaJobDispatcher({ ...config, endpoint: retried.endpoint }, 'w').dispatch({
      id: 'j3',
      type: 'whoami',
      payload: {},
    });
    const refused = new LambdaJobDispatcher({ ...config, endpoint: missing.endpoint }, 'w')
      .dispatch({ id: 'j4', type: 'whoami', payload: {} })
      .catch((error: unknown) => error as Error);

    // Assess
    expect(retried.seen).toHaveLength(3);
    const error = await refused;
    expect(error).toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'ResourceNotFoundException from the stand-in',
    });
    expect(missing.seen).toHaveLength(1);
  });
});
