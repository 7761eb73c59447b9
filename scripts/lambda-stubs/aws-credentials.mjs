// Stands in for the AWS SDK credential providers that read local developer configuration, in the Lambda bundles:
// @aws-sdk/credential-provider-ini (~/.aws files, AWS_PROFILE), -sso (IAM Identity Center), -process
// (credential_process) and -web-identity (a token file, as on EKS). With them go credential-provider-login,
// token-providers and nested-clients (~85 KB). The default chain (@aws-sdk/credential-provider-node) tries
// environment variables first, which is how Lambda hands the function its role's credentials
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), and keeps its container/instance metadata providers.
// Each stub only skips to the next link of that chain (tryNextLink), exactly as the real provider does when its
// source is absent.
import { CredentialsProviderError } from '@smithy/core/config';

/** @param {string} source */
const absentOnLambda =
  (source) =>
  (init = {}) =>
  async () => {
    throw new CredentialsProviderError(
      `${source} credentials are not bundled into the Lambda build (scripts/build.mjs)`,
      {
        logger: init.logger,
        tryNextLink: true,
      },
    );
  };

export const fromIni = absentOnLambda('Shared config file (AWS_PROFILE)');
export const fromSSO = absentOnLambda('IAM Identity Center (SSO)');
export const fromProcess = absentOnLambda('credential_process');
export const fromTokenFile = absentOnLambda('Web identity token file');
