// Stands in for zod's `v4/locales/index.js` (about 40 translations of zod's built-in error messages, ~250 KB
// minified) in the Lambda bundles. zod configures English by itself (classic/schemas.js imports `locales/en.js`
// directly, which stays the same module); only `z.locales.<lang>` / `z.core.locales.<lang>` reach this index, and
// the bot never switches zod's language: its config errors are formatted by src/config.ts.
export { default as en } from 'zod/v4/locales/en.js';
