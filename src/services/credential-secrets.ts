import { createHash } from 'node:crypto';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import * as z from 'zod/mini';
import type { CredentialBundle } from './credential-types.js';

/** Secrets Manager's answer for a secret that does not exist (or was deleted). */
export const isSecretGone = (error: unknown): boolean =>
  (error as { name?: string } | null)?.name === 'ResourceNotFoundException';

/** Errors after which reading the secret again cannot succeed (as opposed to throttling or a network fault). */
const PERMANENT_READ_ERRORS = new Set([
  'ResourceNotFoundException',
  'InvalidRequestException', // e.g. scheduled for deletion
  'DecryptionFailure',
  'InvalidSecretValue',
]);

export const isPermanentReadError = (error: unknown): boolean =>
  PERMANENT_READ_ERRORS.has((error as { name?: string } | null)?.name ?? '');

/**
 * The secret of one delivery attempt: `<SECRET_PREFIX>links/<delivery key>.<digest>/<attempt>`. Deterministic, so
 * that what an attempt created is found from the delivery's claim alone, even when the attempt died before it
 * stored its link. The key's characters that Secrets Manager does not allow become `_`, and the digest (of the
 * delivery key, which holds ids only) keeps two keys that read alike apart. Each attempt has a name of its own:
 * Secrets Manager refuses for a while to create a secret under the name of one it is still force-deleting.
 */
export function secretNameFor(prefix: string, deliveryKey: string, attempt: number): string {
  const readable = deliveryKey.replace(/[^A-Za-z0-9_+=.@-]/g, '_').slice(0, 160);
  const digest = createHash('sha256').update(deliveryKey, 'utf8').digest('hex').slice(0, 12);
  return `${prefix}links/${readable}.${digest}/${attempt}`;
}

/** The name secrets had before names were derived from the delivery key (links stored then still use it). */
export const legacySecretNameFor = (prefix: string, linkId: string): string => `${prefix}links/${linkId}`;

/** Tag keys the bot puts on every credential secret (ids and times only). */
export const SECRET_TAGS = {
  requestId: 'iam-slack-bot:request-id',
  recipient: 'iam-slack-bot:recipient',
  linkId: 'iam-slack-bot:link-id',
  expiresAt: 'iam-slack-bot:expires-at',
  createdAt: 'iam-slack-bot:created-at',
} as const;

const bundleSchema = z.object({
  accountId: z.string(),
  region: z.string(),
  userName: z.string(),
  accessKey: z.optional(z.object({ accessKeyId: z.string(), secretAccessKey: z.string() })),
  console: z.optional(z.object({ password: z.string(), signInUrl: z.string() })),
});

export interface SecretTags {
  requestId: string;
  recipient: string;
  linkId: string;
  expiresAt: Date;
  /** By the bot's clock, which the orphan sweep also reads time from. */
  createdAt: Date;
}

/** Stores a bundle as a new secret. Name, description and tags hold ids and the expiry only. */
export async function createCredentialSecret(
  secrets: SecretsManagerClient,
  name: string,
  bundle: CredentialBundle,
  tags: SecretTags,
): Promise<{ arn: string }> {
  const out = await secrets.send(
    new CreateSecretCommand({
      Name: name,
      Description: `One-time credential link ${tags.linkId}; deleted when opened or expired.`,
      SecretString: JSON.stringify(bundle),
      Tags: [
        { Key: SECRET_TAGS.requestId, Value: tags.requestId },
        { Key: SECRET_TAGS.recipient, Value: tags.recipient },
        { Key: SECRET_TAGS.linkId, Value: tags.linkId },
        { Key: SECRET_TAGS.expiresAt, Value: tags.expiresAt.toISOString() },
        { Key: SECRET_TAGS.createdAt, Value: tags.createdAt.toISOString() },
      ],
    }),
  );
  return { arn: out.ARN ?? name };
}

/** Reads and parses a stored bundle. Throws the SDK's error (keeping its name) when it cannot. */
export async function readCredentialSecret(secrets: SecretsManagerClient, name: string): Promise<CredentialBundle> {
  const out = await secrets.send(new GetSecretValueCommand({ SecretId: name }));
  let value: unknown;
  try {
    value = JSON.parse(out.SecretString ?? 'null');
  } catch {
    value = undefined;
  }
  const parsed = bundleSchema.safeParse(value);
  if (!parsed.success) {
    throw Object.assign(new Error('The stored credentials are malformed'), { name: 'InvalidSecretValue' });
  }
  return parsed.data as CredentialBundle;
}

/** Deletes a secret at once, without the recovery window. Idempotent: a secret already gone is fine. */
export async function deleteCredentialSecret(secrets: SecretsManagerClient, name: string): Promise<void> {
  try {
    await secrets.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }));
  } catch (error) {
    if (!isSecretGone(error)) throw error;
  }
}

/** A credential secret as listed: its name, the link it was made for and when it was made. */
export interface ListedSecret {
  name: string;
  linkId?: string;
  createdAt?: Date;
}

/**
 * Every secret whose name starts with `prefix` (not those already scheduled for deletion), page by page. The
 * `name` filter is a case-sensitive prefix match; names are checked here again all the same, so a looser
 * filter (an emulator's, say) can never hand the sweep a secret outside the prefix.
 */
export async function* listCredentialSecrets(
  secrets: SecretsManagerClient,
  prefix: string,
): AsyncGenerator<ListedSecret> {
  let NextToken: string | undefined;
  do {
    const page = await secrets.send(
      new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [prefix] }], MaxResults: 100, NextToken }),
    );
    for (const entry of page.SecretList ?? []) {
      if (!entry.Name?.startsWith(prefix)) continue;
      const tag = (key: string) => entry.Tags?.find((t) => t.Key === key)?.Value;
      const taggedAt = Date.parse(tag(SECRET_TAGS.createdAt) ?? '');
      const createdAt = Number.isNaN(taggedAt) ? entry.CreatedDate : new Date(taggedAt);
      const linkId = tag(SECRET_TAGS.linkId);
      yield { name: entry.Name, ...(linkId ? { linkId } : {}), ...(createdAt ? { createdAt } : {}) };
    }
    NextToken = page.NextToken;
  } while (NextToken);
}
