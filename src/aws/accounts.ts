import { IAMClient, ListAccountAliasesCommand } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';
import type { Clock } from '../clock.js';
import type { Policy } from '../config.js';

/** The AWS clients the bot uses in one account. */
export interface AccountClients {
  name: string;
  iam: IAMClient;
  sts: STSClient;
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
  /** Called once with every client built, e.g. to add SDK middleware (tests record the secrets AWS hands out). */
  decorateClient?: (client: IAMClient | STSClient | SecretsManagerClient) => void;
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
 */
export class AwsAccounts {
  readonly secrets: SecretsManagerClient;
  readonly #options: AwsOptions;
  readonly #clients = new Map<string, AccountClients>();
  readonly #cache = new Map<string, AwsCredentialIdentity>();
  readonly #homeSts: STSClient;

  constructor(options: AwsOptions) {
    this.#options = options;
    this.#homeSts = this.#sts(this.#base());
    this.secrets = new SecretsManagerClient(this.#base());
    options.decorateClient?.(this.secrets);
  }

  #base(): ClientConfig {
    const { region, endpoint, credentials } = this.#options;
    return { region, ...(endpoint ? { endpoint } : {}), ...(credentials ? { credentials } : {}) };
  }

  #sts(config: ClientConfig): STSClient {
    const sts = this.#options.stsFactory ? this.#options.stsFactory(config) : new STSClient(config);
    this.#options.decorateClient?.(sts);
    return sts;
  }

  /** Names of every account the bot can act in, home first. */
  get names(): string[] {
    return [HOME, ...this.#options.accounts.map((a) => a.name)];
  }

  /** Clients for an account by name (default: home). Throws for a name the policy does not define. */
  account(name: string = HOME): AccountClients {
    const cached = this.#clients.get(name);
    if (cached) return cached;
    let config: ClientConfig;
    if (name === HOME) {
      config = this.#base();
    } else {
      const def = this.#options.accounts.find((a) => a.name === name);
      if (!def) throw new Error(`Unknown account ${name}`);
      config = { ...this.#base(), credentials: () => this.assumedCredentials(name) };
    }
    const clients: AccountClients = {
      name,
      iam: new IAMClient({ ...config, maxAttempts: 4 }),
      sts: name === HOME ? this.#homeSts : this.#sts(config),
    };
    this.#options.decorateClient?.(clients.iam);
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
    const out = await this.#homeSts.send(
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

  /** Which account and identity the bot acts as there, and the account alias if one is set. */
  async identity(name: string = HOME): Promise<{ account: string; arn: string; alias?: string }> {
    const clients = this.account(name);
    const who = await clients.sts.send(new GetCallerIdentityCommand({}));
    const aliases = await clients.iam.send(new ListAccountAliasesCommand({}));
    const alias = aliases.AccountAliases?.[0];
    return { account: who.Account ?? 'unknown', arn: who.Arn ?? 'unknown', ...(alias ? { alias } : {}) };
  }
}
