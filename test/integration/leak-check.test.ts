import { CreateTableCommand, DeleteTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateAccessKeyCommand,
  CreateLoginProfileCommand,
  CreateUserCommand,
  UpdateLoginProfileCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBot, type TestBot } from '../support/bot.js';
import { awsSources, createdSecrets, findLeaks } from '../support/leaks.js';

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot();
});
afterAll(async () => {
  await bot.stop();
});

describe('what the shared leak check tracks', () => {
  it('records the secret access key of every access key IAM creates through the bot clients', async () => {
    const iam = bot.deps.aws.account().iam;
    await iam.send(new CreateUserCommand({ UserName: 'leak-check-keys' }));

    const key = await iam.send(new CreateAccessKeyCommand({ UserName: 'leak-check-keys' }));

    expect(createdSecrets.has(key.AccessKey?.SecretAccessKey ?? '')).toBe(true);
    expect(createdSecrets.has(key.AccessKey?.AccessKeyId ?? '')).toBe(false);
  });

  it('records every password sent to CreateLoginProfile and UpdateLoginProfile', async () => {
    const iam = bot.deps.aws.account().iam;
    await iam.send(new CreateUserCommand({ UserName: 'leak-check-console' }));

    await iam.send(new CreateLoginProfileCommand({ UserName: 'leak-check-console', Password: 'test-only-first-pw1' }));
    await iam.send(new UpdateLoginProfileCommand({ UserName: 'leak-check-console', Password: 'test-only-second-pw2' }));

    expect(createdSecrets.has('test-only-first-pw1')).toBe(true);
    expect(createdSecrets.has('test-only-second-pw2')).toBe(true);
  });

  it('scans every item of every DynamoDB table of the bot, and finds a secret planted in one', async () => {
    const ddb = new DynamoDBClient({ region: 'us-east-1', endpoint: bot.dynamo.url });
    const planted = 'test-only-planted-in-dynamodb';
    await ddb.send(
      new CreateTableCommand({
        TableName: `${bot.dynamo.tablePrefix}scratch-leak-check`,
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await ddb.send(
      new PutItemCommand({
        TableName: `${bot.dynamo.tablePrefix}scratch-leak-check`,
        Item: { id: { S: 'a' }, v: { S: planted } },
      }),
    );

    const leaks = findLeaks(new Map([[planted, 'planted']]), await awsSources(bot.moto.url, bot.dynamo));
    // Clean up, so that this file's own leak check stays green.
    await ddb.send(new DeleteTableCommand({ TableName: `${bot.dynamo.tablePrefix}scratch-leak-check` }));
    ddb.destroy();

    expect(leaks).toEqual([`planted (#1) found in DynamoDB table ${bot.dynamo.tablePrefix}scratch-leak-check, item 1`]);
  });
});
