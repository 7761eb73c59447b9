import { describe, expect, it } from 'vitest';
import { DEFAULT_PASSWORD_RULES, generatePassword, satisfiesPasswordRules } from '../../src/services/password.js';

const strict = {
  minLength: 40,
  requireUppercase: true,
  requireLowercase: true,
  requireNumbers: true,
  requireSymbols: true,
};

describe('generatePassword', () => {
  it('satisfies IAM’s default policy when the account has none', () => {
    for (let i = 0; i < 200; i++)
      expect(satisfiesPasswordRules(generatePassword(DEFAULT_PASSWORD_RULES), DEFAULT_PASSWORD_RULES)).toBe(true);
  });

  it('satisfies a strict account policy, including its minimum length', () => {
    for (let i = 0; i < 200; i++) {
      const password = generatePassword(strict);
      expect(password).toHaveLength(40);
      expect(satisfiesPasswordRules(password, strict)).toBe(true);
    }
  });

  it('is never shorter than 24 characters and differs on every call', () => {
    const passwords = new Set(Array.from({ length: 50 }, () => generatePassword(DEFAULT_PASSWORD_RULES)));

    expect(passwords.size).toBe(50);
    for (const p of passwords) expect(p.length).toBeGreaterThanOrEqual(24);
  });
});

describe('satisfiesPasswordRules', () => {
  it('rejects a password missing a required class or too short', () => {
    expect(satisfiesPasswordRules('abcdefgh12345678', strict)).toBe(false);
    expect(satisfiesPasswordRules('Ab1!', DEFAULT_PASSWORD_RULES)).toBe(false);
  });
});
