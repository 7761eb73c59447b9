import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { describe, expect, it } from 'vitest';
import { LambdaJobDispatcher } from '../../src/jobs/dispatchers.js';

describe('LambdaJobDispatcher', () => {
  // STUB: moto runs Lambda functions only through Docker, which these machines do not have; this checks the
  // request the dispatcher makes, which is all it does.
  it('invokes the worker asynchronously with the job as payload', async () => {
    const sent: unknown[] = [];
    const lambda = { send: async (command: unknown) => sent.push(command) } as unknown as LambdaClient;

    await new LambdaJobDispatcher(lambda, 'iam-slack-bot-dev-worker').dispatch({
      id: 'j1',
      type: 'whoami',
      payload: { a: 1 },
    });

    expect(sent).toHaveLength(1);
    const command = sent[0] as InvokeCommand;
    expect(command).toBeInstanceOf(InvokeCommand);
    expect(command.input.InvocationType).toBe('Event');
    expect(command.input.FunctionName).toBe('iam-slack-bot-dev-worker');
    expect(JSON.parse(new TextDecoder().decode(command.input.Payload as Uint8Array))).toEqual({
      id: 'j1',
      type: 'whoami',
      payload: { a: 1 },
    });
  });

  it('builds its client on the first dispatch from the configuration, and sends the Invoke to the endpoint', async () => {
    // A local HTTP server stands for the Lambda API (moto runs functions only through Docker); the SDK is real.
    const seen: { method?: string; url?: string; headers: IncomingHttpHeaders; body: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body });
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const dispatcher = new LambdaJobDispatcher(
        {
          region: 'us-east-1',
          endpoint: `http://127.0.0.1:${port}`,
          credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
        },
        'iam-slack-bot-dev-worker',
      );
      await dispatcher.dispatch({ id: 'j2', type: 'whoami', payload: {} });
      await dispatcher.dispatch({ id: 'j3', type: 'whoami', payload: {} });
    } finally {
      server.close();
    }

    expect(seen.map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST /2015-03-31/functions/iam-slack-bot-dev-worker/invocations',
      'POST /2015-03-31/functions/iam-slack-bot-dev-worker/invocations',
    ]);
    expect(seen[0]?.headers['x-amz-invocation-type']).toBe('Event');
    expect(JSON.parse(seen[1]?.body ?? '')).toEqual({ id: 'j3', type: 'whoami', payload: {} });
  });
});
