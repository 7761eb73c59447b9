import { describe, expect, it } from 'vitest';
import type { RecordedCall } from '../../src/local/fake-slack.js';
import { assertNoLeaks, createdSecrets, findLeaks, outputSources, slackSources } from '../support/leaks.js';

// Obviously fake values, planted only in this file's own inputs.
const PLANTED = 'planted-fake-secret/value+0123';

const call = (args: Record<string, unknown>): RecordedCall => ({ method: 'chat.postMessage', args, at: 0 });

describe('the shared credential leak check', () => {
  it('names a planted secret in a Slack call, a log line and a DynamoDB item, without printing the secret', () => {
    const secrets = new Map([[PLANTED, 'planted test secret']]);

    const leaks = findLeaks(secrets, [
      ...slackSources([call({ text: 'nothing here' }), call({ blocks: [{ text: `x ${PLANTED} y` }] })]),
      ...outputSources(['{"level":"INFO"}\n', `{"message":"key ${PLANTED}"}\n`]),
      { where: 'DynamoDB table test-links, item 3', text: JSON.stringify({ note: { S: PLANTED } }) },
    ]);

    expect(leaks).toEqual([
      'planted test secret (#1) found in Slack call #2 (chat.postMessage)',
      'planted test secret (#1) found in captured stdout/stderr (log lines)',
      'planted test secret (#1) found in DynamoDB table test-links, item 3',
    ]);
    expect(leaks.join('\n')).not.toContain(PLANTED);
  });

  it('finds a secret that was JSON-escaped on its way into a log line', () => {
    const secret = 'fake"quoted\\secret-value';

    const leaks = findLeaks(new Map([[secret, 'escaped']]), outputSources([JSON.stringify({ m: secret })]));

    expect(leaks).toHaveLength(1);
  });

  it('finds nothing when no source holds a created secret', () => {
    const leaks = findLeaks(new Map([[PLANTED, 'planted']]), [
      ...slackSources([call({ text: 'a link, no secret' })]),
      ...outputSources(['clean log line\n']),
    ]);

    expect(leaks).toEqual([]);
  });

  it('makes the after-file check fail when a created secret was logged', async () => {
    createdSecrets.set(PLANTED, 'planted test secret');
    try {
      await expect(assertNoLeaks([`{"message":"${PLANTED}"}`])).rejects.toThrow(
        /Credential leak check failed \(1\):\n {2}- planted test secret \(#1\) found in captured stdout\/stderr/,
      );
    } finally {
      createdSecrets.delete(PLANTED);
    }
  });
});
