import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
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

/** The secret's name: under SECRET_PREFIX, named by the random link id (never the token, nothing secret). */
export const secretNameFor = (prefix: string, linkId: string): string => `${prefix}links/${linkId}`;

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
        { Key: 'iam-slack-bot:request-id', Value: tags.requestId },
        { Key: 'iam-slack-bot:recipient', Value: tags.recipient },
        { Key: 'iam-slack-bot:link-id', Value: tags.linkId },
        { Key: 'iam-slack-bot:expires-at', Value: tags.expiresAt.toISOString() },
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
