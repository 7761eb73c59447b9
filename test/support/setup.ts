/**
 * Runs before every test file: dummy AWS credentials (requests only ever go to the moto server a test starts), and
 * capture of everything written to stdout/stderr, so tests can check what was logged. Set SHOW_LOGS=1 to see it.
 * After every file: the shared credential leak check, and the check that every payload sent to Slack kept within
 * Slack's limits (test/support/slack-limits.ts).
 */
import { afterAll } from 'vitest';
import { assertNoLeaks } from './leaks.js';
import { assertRoleAllowedEveryCall } from './role-checker.js';
import { assertWithinSlackLimits } from './slack-limits.js';

process.env.AWS_ACCESS_KEY_ID = 'testing';
process.env.AWS_SECRET_ACCESS_KEY = 'testing';
process.env.AWS_REGION = 'us-east-1';
delete process.env.AWS_PROFILE;
delete process.env.AWS_SESSION_TOKEN;

/** Every line written to stdout or stderr by this test file (the bot's logs among them). */
export const capturedOutput: string[] = [];
(globalThis as { __capturedOutput?: string[] }).__capturedOutput = capturedOutput;

for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    capturedOutput.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return process.env.SHOW_LOGS ? write(chunk, ...rest) : true;
  }) as typeof stream.write;
}

// The shared leak check (test/support/leaks.ts): fails the file if a credential a test created shows up in a
// Slack call, a log line, a DynamoDB item or a secret's metadata.
afterAll(async () => {
  try {
    await assertNoLeaks(capturedOutput);
  } finally {
    capturedOutput.length = 0;
  }
});

// The role checker (test/support/role-checker.ts): fails the file if the generated IAM role of the function that made
// it would deny any AWS call the bot made, as real IAM would and moto does not.
afterAll(() => assertRoleAllowedEveryCall());
afterAll(() => assertWithinSlackLimits());
