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
});
