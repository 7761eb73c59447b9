// Prints the IAM role a named account of policy.yml needs, so the bot can act there through STS AssumeRole:
//
//   npm run role -- --account staging --home-account 111122223333 [--stage prod] [--partition aws]
//
// The permissions policy is derived like the bot's own roles (src/deploy/roles.ts): what the functions that act in
// other accounts call, on that account's users under the managed paths and the policy's groups only. The trust policy
// lets only those functions' roles (`iam-slack-bot-<stage>-slack|worker|schedule` in the home account) assume it,
// with the external id when policy.yml sets one. Create the role in the named account with the printed commands.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { tsImport } from 'tsx/esm/api';
import { root } from './build.mjs';

const { values } = parseArgs({
  options: {
    account: { type: 'string' },
    'home-account': { type: 'string' },
    stage: { type: 'string', default: 'dev' },
    partition: { type: 'string', default: 'aws' },
    service: { type: 'string', default: 'iam-slack-bot' },
  },
});

const { readPolicyFile } = await tsImport('../src/config.ts', import.meta.url);
const { accountRolePolicy, accountTrustPolicy } = await tsImport('../src/deploy/roles.ts', import.meta.url);

const fail = (message) => {
  console.error(message);
  process.exit(1);
};
let policy;
try {
  policy = readPolicyFile(path.resolve(root, process.env.POLICY_FILE || 'policy.yml'), (f) => readFileSync(f, 'utf8'));
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
const names = policy.accounts.map((a) => a.name);
if (!values.account) fail(`Name the account: --account ${names.join(' | ') || '(policy.yml names no account)'}`);
const account = policy.accounts.find((a) => a.name === values.account);
if (!account) fail(`policy.yml names no account "${values.account}"; it names: ${names.join(', ') || 'none'}`);
const home = values['home-account'];
if (!home || !/^\d{12}$/.test(home))
  fail('Give the 12-digit id of the account the bot runs in: --home-account 111122223333');

const permissions = accountRolePolicy(policy, account.name, values.partition);
const trust = accountTrustPolicy(policy, account.name, {
  accountId: home,
  service: values.service,
  stage: values.stage,
  partition: values.partition,
});
const roleName = account.roleArn.split('/').pop();

console.log(`# Role ${account.roleArn} (account "${account.name}"), for the bot's stage "${values.stage}" in ${home}`);
console.log('\n## Trust policy (trust.json)\n');
console.log(JSON.stringify(trust, null, 2));
console.log('\n## Permissions policy (permissions.json)\n');
console.log(JSON.stringify(permissions, null, 2));
console.log(`
## Create it, with credentials for account ${account.roleArn.split(':')[4]}

aws iam create-role --role-name ${roleName} --assume-role-policy-document file://trust.json
aws iam put-role-policy --role-name ${roleName} --policy-name iam-slack-bot --policy-document file://permissions.json`);
