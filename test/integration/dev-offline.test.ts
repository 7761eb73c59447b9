import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevBot } from '../../src/local/dev-bot.js';
import { npmRunSlack, startDev } from '../support/dev-bot.js';

let bot: DevBot;
let port: number;
let log: string[];
beforeAll(async () => {
  // As `npm run dev` starts on a machine with Java: its own DynamoDB Local (not the test run's).
  ({ bot, port, log } = await startDev({ AWS_ENDPOINT_URL_DYNAMODB: '' }));
});
afterAll(async () => {
  await bot?.stop();
});

const approvalMessage = (userName: string) =>
  bot.standIn?.messages.find((m) => m.channel === 'C0APPROVALS' && JSON.stringify(m.blocks).includes(userName));

describe('npm run dev offline, with the shipped policy.yml', () => {
  it('`npm run slack -- "/iam whoami"` prints the account table', async () => {
    const out = await npmRunSlack(port, '/iam whoami');

    expect(out).toMatch(/\*home\*: account `123456789012`/);
    expect(out).toMatch(
      /:white_check_mark: \*staging\*: account `000000000000`, acting as `arn:aws:sts::000000000000:assumed-role\/iam-slack-bot/,
    );
  });

  it('refuses a DM to an id nobody registered, as Slack does, and knows whoever sends a command', async () => {
    // Act: a command from someone the stand-in was not told about, then DMs through the bot's own client
    const out = await npmRunSlack(port, '/iam whoami', '--user', 'U0NEWCOMER');
    const toSender = await bot.deps.messenger.post('U0NEWCOMER', { text: 'hello' }).then(
      () => 'sent',
      (e: { data?: { error?: string } }) => e.data?.error,
    );
    const toNobody = await bot.deps.messenger.post('U0NOBODYHERE', { text: 'hello' }).then(
      () => 'sent',
      (e: { data?: { error?: string } }) => e.data?.error,
    );

    // Assess
    expect(out).toMatch(/\*home\*: account/);
    expect(toSender).toBe('sent');
    expect(toNobody).toBe('channel_not_found');
  });

  it('prints the page that plays Slack in a browser at start, and the page answers there', async () => {
    const line = log.find((l) => l.includes('Play Slack in your browser'));
    const url = /(http:\/\/localhost:\d+\/)/.exec(line ?? '')?.[1] ?? '';
    const page = await fetch(url);

    expect(url).toBe(`http://localhost:${port + 1}/`);
    expect(await page.text()).toContain('Local Slack');
  });

  it('says which options the inline create-user lacked when it opens the form instead (--account: policy.yml names staging)', async () => {
    const out = await npmRunSlack(
      port,
      '/iam create-user build-bot --for @U0RECIPIENT --groups ci-deployers --keys --reason "CI deploys"',
    );

    expect(out).toContain(
      'Opening the form: the command did not give `--account` (policy.yml names more than one account: home, staging)',
    );
    expect(out).toContain('Opened the form "New IAM user"');
  });

  it('sends `--for @U0SOMEONE` as Slack sends a mention, which the bot accepts', async () => {
    const out = await npmRunSlack(
      port,
      '/iam create-user mention-bot --for @U0RECIPIENT --groups ci-deployers --keys --account home --reason "CI deploys"',
    );

    expect(out).toContain('is waiting for approval');
    expect(JSON.stringify(approvalMessage('mention-bot')?.blocks)).toContain('U0RECIPIENT');
  });

  it('answers a mistyped group with the group it probably meant', async () => {
    const out = await npmRunSlack(
      port,
      '/iam create-user typo-bot --groups ci-deploy --keys --account home --reason "CI deploys"',
    );

    expect(out).toContain('Did you mean `ci-deployers` for `ci-deploy`?');
  });

  it('reads an apostrophe in --reason as a letter, so the options after it still count', async () => {
    const out = await npmRunSlack(
      port,
      "/iam create-user apostrophe-bot --groups ci-deployers --reason don't --keys --account home",
    );

    expect(out).toContain('is waiting for approval');
    expect(JSON.stringify(approvalMessage('apostrophe-bot')?.blocks)).toContain("don't");
  });

  it('creates a user in the staging account (a real account of the emulator, with the policy groups) once approved, and logs the one-time link in full', async () => {
    const out = await npmRunSlack(
      port,
      '/iam create-user staging-bot --for @U0RECIPIENT --groups read-only --keys --account staging --reason "staging smoke tests"',
    );
    const message = approvalMessage('staging-bot');
    if (!message) throw new Error('no approval message for staging-bot');
    await bot.standIn?.clickButton('U0PLATFORM1', message, 'request_approve');
    await fetch(`http://127.0.0.1:${port + 1}/local/settle`);
    const keys = await bot.deps.aws.account('staging').iam.send(new ListAccessKeysCommand({ UserName: 'staging-bot' }));
    const homeKeys = bot.deps.aws.account('home').iam.send(new ListAccessKeysCommand({ UserName: 'staging-bot' }));

    expect(out).toContain('is waiting for approval');
    expect(keys.AccessKeyMetadata).toHaveLength(1);
    await expect(homeKeys).rejects.toMatchObject({ name: 'NoSuchEntityException' });
    const dm = log.find((l) => l.startsWith('[slack] chat.postMessage') && l.includes('"channel":"U0RECIPIENT"'));
    expect(dm).toMatch(new RegExp(`http://localhost:${port}/credentials/[\\w-]+`));
  });
});

describe('npm run dev and DynamoDB', () => {
  it("says at start that DynamoDB is DynamoDB Local, AWS's own engine, and keeps its tables there, not in moto", async () => {
    const dynamoUrl = bot.deps.config.env.AWS_ENDPOINT_URL_DYNAMODB ?? '';
    const tablesIn = async (endpoint: string) => {
      const ddb = new DynamoDBClient({ region: 'us-east-1', endpoint });
      try {
        return (await ddb.send(new ListTablesCommand({}))).TableNames ?? [];
      } finally {
        ddb.destroy();
      }
    };

    const [inDynamoLocal, inMoto] = await Promise.all([tablesIn(dynamoUrl), tablesIn(bot.moto?.url ?? '')]);

    expect(log).toContain(`DynamoDB: DynamoDB Local, AWS's own engine (${dynamoUrl}), in memory.`);
    expect(dynamoUrl).not.toBe(bot.moto?.url);
    expect(inDynamoLocal).toContain(`${bot.deps.config.env.TABLE_PREFIX}requests`);
    expect(inMoto).toEqual([]);
  });
});

describe('the stand-in page API', () => {
  it('refuses a form post (what another web site could send without asking), so no site can click for you', async () => {
    const res = await fetch(`http://127.0.0.1:${port + 1}/stand-in/command`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ user: 'U0REQUESTER', text: '/iam whoami' }),
    });

    expect(res.status).toBe(415);
  });
});
