// Loaded on first use through `import()` (see AwsAccounts.secrets): a module of its own so that esbuild still keeps
// only what is named here, which it cannot do for `import('@aws-sdk/client-secrets-manager')` itself.
export { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
