import { describe, expect, it } from 'vitest';
import { closestName } from '../../src/services/closest.js';

const names = ['help', 'whoami', 'create-user'];

describe('closestName', () => {
  it.each([
    ['whomai', 'whoami'],
    ['hlep', 'help'],
    ['create', 'create-user'],
    ['createuser', 'create-user'],
  ])('suggests %s -> %s', (given, expected) => {
    expect(closestName(given, names)).toBe(expected);
  });

  it('suggests nothing for a word far from every command', () => {
    expect(closestName('delete-everything', names)).toBeUndefined();
  });
});
