// Stands in for src/aws/secrets.ts (the Secrets Manager client, ~25 KB) in the Slack function's bundle. The Slack
// function never reads, creates or deletes a credential secret: its role grants no Secrets Manager action
// (src/deploy/roles.ts), and every secret is handled by the worker (delivery), the web function (the credential page)
// and the scheduled function (expiry). `AwsAccounts.secrets()` loads the client on first use only, so on the Slack
// function nothing reaches this stub; if something did, it says so instead of calling AWS without permission.
export class SecretsManagerClient {
  constructor() {
    throw new Error(
      'The Slack function has no Secrets Manager client (its role grants none): credential secrets are handled by the worker, web and schedule functions',
    );
  }
}
