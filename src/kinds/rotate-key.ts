/**
 * rotate-key: a new access key by one-time link, the old one retired after the grace period. Its run lives in
 * src/kinds/rotate-key/ (worker only, not imported here).
 */
import { changeKind } from './change.js';

export const rotateKey = changeKind('rotate-key');
