/**
 * rotate-key: a new access key by one-time link, the old one retired after the grace period. Its run lives in
 * src/services/kinds/rotation-run.ts (worker only, not imported here).
 */
import { changeKind } from './change.js';

export const rotateKey = changeKind('rotate-key');
