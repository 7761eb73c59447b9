// Loaded on the first dispatch through `import()` (see LambdaJobDispatcher): a module of its own so that esbuild
// still keeps only what is named here, which it cannot do for `import('@aws-sdk/client-lambda')` itself.
export { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
