import { randomInt } from 'node:crypto';
import { GetAccountPasswordPolicyCommand, type IAMClient } from '@aws-sdk/client-iam';

/** What an account's password policy asks of a console password. */
export interface PasswordRules {
  minLength: number;
  requireUppercase: boolean;
  requireLowercase: boolean;
  requireNumbers: boolean;
  requireSymbols: boolean;
}

/**
 * IAM's default when an account has no password policy: at least 8 characters and three of the four character
 * classes. The generator always uses all four, which satisfies it.
 */
export const DEFAULT_PASSWORD_RULES: PasswordRules = {
  minLength: 8,
  requireUppercase: false,
  requireLowercase: false,
  requireNumbers: false,
  requireSymbols: false,
};

const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const LOWER = 'abcdefghijkmnopqrstuvwxyz';
const DIGITS = '23456789';
/** The symbols IAM password policies count as symbols. */
const SYMBOLS = '!@#$%^&*()_+-=[]{}|';
const CLASSES = [UPPER, LOWER, DIGITS, SYMBOLS];

/** Generated passwords are at least this long, whatever the policy's minimum. */
const GENERATED_LENGTH = 24;

/** The account's password rules; IAM's defaults when the account has none (NoSuchEntity). */
export async function accountPasswordRules(iam: Pick<IAMClient, 'send'>): Promise<PasswordRules> {
  try {
    const { PasswordPolicy: p } = await iam.send(new GetAccountPasswordPolicyCommand({}));
    return {
      minLength: p?.MinimumPasswordLength ?? DEFAULT_PASSWORD_RULES.minLength,
      requireUppercase: p?.RequireUppercaseCharacters ?? false,
      requireLowercase: p?.RequireLowercaseCharacters ?? false,
      requireNumbers: p?.RequireNumbers ?? false,
      requireSymbols: p?.RequireSymbols ?? false,
    };
  } catch (error) {
    if ((error as Error).name === 'NoSuchEntityException' || (error as Error).name === 'NoSuchEntity')
      return DEFAULT_PASSWORD_RULES;
    throw error;
  }
}

/**
 * A random password that satisfies `rules` (and IAM's default policy): max(24, minLength) characters with at
 * least one upper-case letter, lower-case letter, digit and symbol, from a CSPRNG. Look-alike characters are left
 * out. The result is a secret: it goes to credential delivery only.
 */
export function generatePassword(rules: PasswordRules, random: (max: number) => number = randomInt): string {
  const length = Math.min(128, Math.max(GENERATED_LENGTH, rules.minLength));
  const all = CLASSES.join('');
  const chars = CLASSES.map((set) => set[random(set.length)] as string);
  while (chars.length < length) chars.push(all[random(all.length)] as string);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = random(i + 1);
    [chars[i], chars[j]] = [chars[j] as string, chars[i] as string];
  }
  return chars.join('');
}

/** Whether a password satisfies the rules and IAM's default policy (for tests and a last check before use). */
export function satisfiesPasswordRules(password: string, rules: PasswordRules): boolean {
  const upper = /[A-Z]/.test(password);
  const lower = /[a-z]/.test(password);
  const digit = /[0-9]/.test(password);
  const symbol = [...password].some((c) => SYMBOLS.includes(c));
  return (
    password.length >= rules.minLength &&
    password.length <= 128 &&
    (!rules.requireUppercase || upper) &&
    (!rules.requireLowercase || lower) &&
    (!rules.requireNumbers || digit) &&
    (!rules.requireSymbols || symbol) &&
    [upper, lower, digit, symbol].filter(Boolean).length >= 3
  );
}

/**
 * Whether IAM users of an account may change their own password by the account's password policy: `allowed`
 * (AllowUsersToChangePassword), `not-allowed` (a policy that does not allow it) or `no-policy` (none: IAM then lets
 * only users granted `iam:ChangePassword` change it). Either of the last two locks a user out at the first sign-in
 * that requires a new password, unless one of its groups grants `iam:ChangePassword`. Reads only; throws what IAM
 * throws except NoSuchEntity.
 */
export async function passwordChangeByPolicy(
  iam: Pick<IAMClient, 'send'>,
): Promise<'allowed' | 'not-allowed' | 'no-policy'> {
  try {
    const { PasswordPolicy: p } = await iam.send(new GetAccountPasswordPolicyCommand({}));
    return p?.AllowUsersToChangePassword ? 'allowed' : 'not-allowed';
  } catch (error) {
    if ((error as Error).name === 'NoSuchEntityException' || (error as Error).name === 'NoSuchEntity')
      return 'no-policy';
    throw error;
  }
}
