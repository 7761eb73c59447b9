// Loaded on first use through `import()` (see AwsAccounts): a module of its own so that esbuild still keeps only
// what is named here, which it cannot do for `import('@aws-sdk/client-sts')` itself.
export { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
