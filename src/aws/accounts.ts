import { IAMClient, ListAccountAliasesCommand } from '@aws-sdk/client-iam';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { GetCallerIdentityCommandOutput, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';
import type { Clock } from '../clock.js';
import type { Policy } from '../config.js';

/** The AWS clients the bot uses in one account. */
export interface AccountClients {
  name: string;
  iam: IAMClient;
}

export interface AwsOptions {
  region: string;
  endpoint?: string | undefined;
  accounts: Policy['accounts'];
  clock: Clock;
  /** Credentials for the home account; default: the SDK's default chain. */
  credentials?: AwsCredentialIdentity;
  /** Builds an STS client (tests inject one to cover what moto gets wrong). */
  stsFactory?: (config: ClientConfig) => STSClient;
  /**
   * Called once with every client built and the account it acts in, e.g. to add SDK middleware (tests record the
   * secrets AWS hands out, and check every call against the generated role).
   */
  decorateClient?: (client: IAMClient | STSClient | SecretsManagerClient, account: string) => void;
}

type ClientConfig = {
  region: string;
  endpoint?: string;
  credentials?: AwsCredentialIdentity | (() => Promise<AwsCredentialIdentity>);
};

/** Refresh assumed-role credentials this long before they expire. */
const REFRESH_MARGIN_MS = 5 * 60_000;
export const HOME = 'home';

/**
 * Builds SDK v3 clients per account, in one place: the home account with the default credential chain, every
 * named account through STS AssumeRole with credentials cached until shortly before they expire.
 *
 * IAM is what most requests need, so its client loads with this module. STS (whoami, AssumeRole) and Secrets
 * Manager (credential delivery, in the worker and the credential page) load on first use: the Slack function's
 * cold start does not pay for SDK clients it rarely or never calls.
 */
export class AwsAccounts {
  readonly #options: AwsOptions;
  readonly #clients = new Map<string, AccountClients>();
  readonly #cache = new Map<string, AwsCredentialIdentity>();
  readonly #sts = new Map<string, Promise<STSClient>>();
  #secrets: Promise<SecretsManagerClient> | undefined;

  constructor(options: AwsOptions) {
    this.#options = options;
  }

  /** The Secrets Manager client of the home account (where one-time credentials are kept). */
  secrets(): Promise<SecretsManagerClient> {
    this.#secrets ??= import('./secrets.js').then(({ SecretsManagerClient }) => {
      const client = new SecretsManagerClient(this.#base());
      this.#options.decorateClient?.(client, HOME);
      return client;
    });
    return this.#secrets;
  }

  #base(): ClientConfig {
    const { region, endpoint, credentials } = this.#options;
    return { region, ...(endpoint ? { endpoint } : {}), ...(credentials ? { credentials } : {}) };
  }

  /** The STS client of an account (home: the default chain; others: the assumed role). */
  #stsOf(name: string): Promise<STSClient> {
    let sts = this.#sts.get(name);
    if (!sts) {
      const config = this.#config(name);
      sts = import('./sts.js').then(({ STSClient }) => {
        const client = this.#options.stsFactory ? this.#options.stsFactory(config) : new STSClient(config);
        this.#options.decorateClient?.(client, name);
        return client;
      });
      this.#sts.set(name, sts);
    }
    return sts;
  }

  #config(name: string): ClientConfig {
    if (name === HOME) return this.#base();
    const def = this.#options.accounts.find((a) => a.name === name);
    if (!def) throw new Error(`Unknown account ${name}`);
    return { ...this.#base(), credentials: () => this.assumedCredentials(name) };
  }

  /** Names of every account the bot can act in, home first. */
  get names(): string[] {
    return [HOME, ...this.#options.accounts.map((a) => a.name)];
  }

  /** Clients for an account by name (default: home). Throws for a name the policy does not define. */
  account(name: string = HOME): AccountClients {
    const cached = this.#clients.get(name);
    if (cached) return cached;
    const clients: AccountClients = { name, iam: new IAMClient({ ...this.#config(name), maxAttempts: 4 }) };
    this.#options.decorateClient?.(clients.iam, name);
    this.#clients.set(name, clients);
    return clients;
  }

  /** Credentials of the account's role, from cache while they stay valid for at least five more minutes. */
  async assumedCredentials(name: string): Promise<AwsCredentialIdentity> {
    const cached = this.#cache.get(name);
    const now = this.#options.clock.now().getTime();
    if (cached?.expiration && cached.expiration.getTime() - now > REFRESH_MARGIN_MS) return cached;
    const def = this.#options.accounts.find((a) => a.name === name);
    if (!def) throw new Error(`Unknown account ${name}`);
    const [sts, { AssumeRoleCommand }] = await Promise.all([this.#stsOf(HOME), import('./sts.js')]);
    const out = await sts.send(
      new AssumeRoleCommand({
        RoleArn: def.roleArn,
        RoleSessionName: 'iam-slack-bot',
        DurationSeconds: 3600,
        ...(def.externalId ? { ExternalId: def.externalId } : {}),
      }),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`AssumeRole into ${name} returned no credentials`);
    const creds: AwsCredentialIdentity = {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration ?? new Date(now + 3600_000),
    };
    this.#cache.set(name, creds);
    return creds;
  }

  /** STS GetCallerIdentity in an account: its id and the ARN the bot acts as there. */
  async callerIdentity(name: string = HOME): Promise<GetCallerIdentityCommandOutput> {
    this.account(name); // throws for an account the policy does not define
    const [sts, { GetCallerIdentityCommand }] = await Promise.all([this.#stsOf(name), import('./sts.js')]);
    return sts.send(new GetCallerIdentityCommand({}));
  }

  /** Which account and identity the bot acts as there, and the account alias if one is set. */
  async identity(name: string = HOME): Promise<{ account: string; arn: string; alias?: string }> {
    const who = await this.callerIdentity(name);
    const aliases = await this.account(name).iam.send(new ListAccountAliasesCommand({}));
    const alias = aliases.AccountAliases?.[0];
    return { account: who.Account ?? 'unknown', arn: who.Arn ?? 'unknown', ...(alias ? { alias } : {}) };
  }
}
