import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsAccounts } from '../../src/aws/accounts.js';
import { ManualClock } from '../../src/clock.js';
import { type MotoServer, startMoto } from '../../src/local/moto.js';

let moto: MotoServer;
beforeAll(async () => {
  moto = await startMoto();
});
afterAll(async () => {
  await moto.stop();
});

function countingAccounts(clock: ManualClock) {
  const assumed: string[] = [];
  const aws = new AwsAccounts({
    region: 'us-east-1',
    endpoint: moto.url,
    clock,
    accounts: [{ name: 'staging', roleArn: 'arn:aws:iam::111111111111:role/iam-slack-bot-staging' }],
    // Counts AssumeRole calls; each still goes to moto.
    stsFactory: (config) => {
      const sts = new STSClient(config);
      const send = sts.send.bind(sts) as (c: unknown) => Promise<unknown>;
      (sts as { send: unknown }).send = (command: unknown) => {
        if (command instanceof AssumeRoleCommand) assumed.push(command.input.RoleArn ?? '');
        return send(command);
      };
      return sts;
    },
  });
  return { aws, assumed };
}

describe('AwsAccounts', () => {
  it('acts in a named account through AssumeRole, with that account identity', async () => {
    const { aws } = countingAccounts(new ManualClock(new Date()));

    const who = await aws.identity('staging');

    expect(who.account).toBe('111111111111');
    expect(who.arn).toContain('assumed-role/iam-slack-bot-staging');
  });

  it('reuses assumed-role credentials until five minutes before they expire, then assumes the role again', async () => {
    const clock = new ManualClock(new Date());
    const { aws, assumed } = countingAccounts(clock);

    await aws.assumedCredentials('staging');
    clock.advance(50 * 60_000);
    await aws.assumedCredentials('staging');
    const afterFiftyMinutes = assumed.length;
    clock.advance(6 * 60_000);
    await aws.assumedCredentials('staging');

    expect(afterFiftyMinutes).toBe(1);
    expect(assumed).toHaveLength(2);
  });

  it('refuses an account name the policy does not define', () => {
    const { aws } = countingAccounts(new ManualClock());

    expect(() => aws.account('prod')).toThrow('Unknown account prod');
  });
});
