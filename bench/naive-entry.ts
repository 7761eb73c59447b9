/**
 * The "naive" Lambda entry the benchmark compares the real Slack bundle with: Bolt with AwsLambdaReceiver, the AWS
 * SDK clients the bot uses and dynamoose, as anyone would write it, bundled by esbuild with its default settings
 * (no minification, no aliases). bench/sections/cold-start.ts builds it; it is never deployed.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import { App, AwsLambdaReceiver } from '@slack/bolt';
import dynamoose from 'dynamoose';

const region = process.env.AWS_REGION ?? 'us-east-1';
export const clients = {
  iam: new IAMClient({ region }),
  sts: new STSClient({ region }),
  secrets: new SecretsManagerClient({ region }),
  dynamodb: new DynamoDBClient({ region }),
};
dynamoose.aws.ddb.set(new dynamoose.aws.ddb.DynamoDB({ region }));

const receiver = new AwsLambdaReceiver({ signingSecret: process.env.SLACK_SIGNING_SECRET ?? '' });
export const app = new App({
  token: process.env.SLACK_BOT_TOKEN,
  receiver,
  // As the real bundle is measured: with the bot's ids, so Bolt makes no auth.test call.
  botId: process.env.SLACK_BOT_ID,
  botUserId: process.env.SLACK_BOT_USER_ID,
});

export const handler = receiver.toHandler();
