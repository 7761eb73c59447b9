// Bundles every Lambda entry point with esbuild: one minified CommonJS file per function, everything bundled
// (the AWS SDK included: pinned by our lockfile, and only the parts we use).
//
//   node scripts/build.mjs   ->   dist/<name>/index.cjs (+ dist/<name>/meta.json, esbuild's metafile) and a size table
//                                 dist/policy.json: policy.yml (or $POLICY_FILE), checked, as JSON
//
// serverless.yml packages `dist/<name>/index.cjs` with `dist/policy.json` (the code reads POLICY_FILE relative to the
// working directory, /var/task on Lambda). The policy is checked here, so that a mistake in it fails the build with
// every problem listed instead of the deployed functions; and it ships as JSON, so that no cold start parses YAML
// (about 15 ms of module initialisation). The files are `.cjs` because package.json says "type": "module".
//
// Size matters because it is cold-start time: Node parses and compiles the bundle before the first request. A few
// modules are replaced by stubs (scripts/lambda-stubs/); each stands for code that the Lambda handlers cannot reach,
// says why in its own comment, and throws if it is reached anyway. `npm run bench` checks that the result still
// answers a signed Slack request.
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { tsImport } from 'tsx/esm/api';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stub = (file) => path.join(root, 'scripts', 'lambda-stubs', file);

/** The Lambda functions: `src/handlers/<name>.ts` -> `dist/<name>/index.cjs`, each exporting `handler`. */
export const functions = ['slack', 'web', 'worker', 'schedule'];

/** Imports of a package name redirected in the Lambda bundles. */
export const aliases = {
  // YAML parsing (~96 KB): the functions read dist/policy.json, which `npm run build` writes from policy.yml
  // (src/config.ts parses `.json` with JSON.parse). See lambda-stubs/yaml.mjs.
  yaml: stub('yaml.mjs'),
  // OAuth installation flow; reached only through Bolt's index re-exports. See lambda-stubs/slack-oauth.cjs.
  '@slack/oauth': stub('slack-oauth.cjs'),
  // Reads a Node http request body, with iconv-lite's code pages (~480 KB): Bolt's HTTPModuleFunctions, exported by
  // its index but used only by the HTTP and Express receivers. See lambda-stubs/raw-body.cjs.
  'raw-body': stub('raw-body.cjs'),
  // Credential sources of a developer machine (profiles, SSO, credential_process, web identity token file). On
  // Lambda the role's credentials are in environment variables. See lambda-stubs/aws-credentials.mjs.
  '@aws-sdk/credential-provider-ini': stub('aws-credentials.mjs'),
  '@aws-sdk/credential-provider-sso': stub('aws-credentials.mjs'),
  '@aws-sdk/credential-provider-process': stub('aws-credentials.mjs'),
  '@aws-sdk/credential-provider-web-identity': stub('aws-credentials.mjs'),
};

/**
 * Relative imports inside a package redirected in the Lambda bundles (esbuild's `alias` handles package names only).
 * `importer` says whose relative import it is.
 */
export const relativeStubs = [
  {
    // Bolt's HTTPReceiver, ExpressReceiver and SocketModeReceiver, with express, @slack/socket-mode (undici, ~530 KB)
    // and path-to-regexp: the handlers use AwsLambdaReceiver. See lambda-stubs/bolt-receiver.cjs.
    filter: /^\.\/receivers\/(HTTPReceiver|ExpressReceiver|SocketModeReceiver)$/,
    importer: /[\\/]node_modules[\\/]@slack[\\/]bolt[\\/]dist[\\/]/,
    stub: stub('bolt-receiver.cjs'),
  },
  {
    // `z.locales`: zod's ~40 translations of its own messages (~250 KB), English kept. See lambda-stubs/zod-locales.mjs.
    filter: /^\.\.\/locales\/index\.js$/,
    importer: /[\\/]node_modules[\\/]zod[\\/]v4[\\/](classic|core|mini)[\\/]/,
    stub: stub('zod-locales.mjs'),
  },
];

/** Relative imports of our own code redirected in one function's bundle only: code that function cannot reach. */
export const functionStubs = {
  slack: [
    {
      // The Secrets Manager client (~25 KB), loaded on first use by AwsAccounts.secrets(): the Slack function handles
      // no credential secret (its role grants no Secrets Manager action). See lambda-stubs/no-secrets-manager.mjs.
      filter: /^\.\/secrets\.js$/,
      importer: /[\\/]src[\\/]aws[\\/]accounts\.ts$/,
      stub: stub('no-secrets-manager.mjs'),
    },
  ],
};

const functionStubsPlugin = (name) => ({
  name: 'lambda-function-stubs',
  setup(build) {
    for (const { filter, importer, stub: file } of functionStubs[name] ?? []) {
      build.onResolve({ filter }, (args) => (importer.test(args.importer) ? { path: file } : undefined));
    }
  },
});

const relativeStubsPlugin = {
  name: 'lambda-relative-stubs',
  setup(build) {
    for (const { filter, importer, stub: file } of relativeStubs) {
      build.onResolve({ filter }, (args) => (importer.test(args.importer) ? { path: file } : undefined));
    }
  },
};

/** esbuild options for one function; exported so tests and the benchmark build exactly what ships. */
export function lambdaBuildOptions(name, outdir = path.join(root, 'dist')) {
  return {
    absWorkingDir: root,
    entryPoints: [path.join(root, 'src', 'handlers', `${name}.ts`)],
    outfile: path.join(outdir, name, 'index.cjs'),
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    // Prefer each package's ES module build (`module` field; for `exports` maps esbuild's default `module`
    // condition does the same): esbuild drops the unused parts of ES modules, not of CommonJS. The AWS SDK clients
    // ship both, and their CommonJS index holds every command and schema of the service: ~270 KB more, and about
    // 35 ms more module initialisation, with the default (`main` first).
    mainFields: ['module', 'main'],
    alias: aliases,
    plugins: [relativeStubsPlugin, functionStubsPlugin(name)],
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  };
}

/** Builds every function (or the named ones) into `outdir`; returns each bundle's path, size and metafile. */
export async function buildLambdas({ outdir = path.join(root, 'dist'), names = functions } = {}) {
  return Promise.all(
    names.map(async (name) => {
      await rm(path.join(outdir, name), { recursive: true, force: true });
      await mkdir(path.join(outdir, name), { recursive: true });
      const { metafile } = await esbuild.build(lambdaBuildOptions(name, outdir));
      await writeFile(path.join(outdir, name, 'meta.json'), JSON.stringify(metafile));
      const file = path.join(outdir, name, 'index.cjs');
      return { name, file, bytes: bundleBytes(metafile), metafile };
    }),
  );
}

/** Size in bytes of the JavaScript output(s) of a build, from its metafile. */
export function bundleBytes(metafile) {
  return Object.entries(metafile.outputs)
    .filter(([file]) => /\.[cm]?js$/.test(file))
    .reduce((sum, [, output]) => sum + output.bytes, 0);
}

/** Bytes each package contributes to a build, biggest first: `[[package, bytes], ...]`; `(app)` is our code. */
export function packageSizes(metafile) {
  const sizes = new Map();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const parts = input.split('node_modules/');
      const last = parts.at(-1) ?? input;
      const pkg =
        parts.length === 1
          ? '(app)'
          : last
              .split('/')
              .slice(0, last.startsWith('@') ? 2 : 1)
              .join('/');
      sizes.set(pkg, (sizes.get(pkg) ?? 0) + bytesInOutput);
    }
  }
  return [...sizes].sort((a, b) => b[1] - a[1]);
}

/**
 * Checks the access policy with the bot's own schema (src/config.ts) and writes it as JSON for the Lambda functions.
 * Throws the bot's ConfigError, listing every problem, when the policy is wrong.
 */
export async function compilePolicy({
  source = process.env.POLICY_FILE || 'policy.yml',
  dest = path.join(root, 'dist', 'policy.json'),
} = {}) {
  const { readPolicyFile } = await tsImport('../src/config.ts', import.meta.url);
  const policy = readPolicyFile(path.resolve(root, source), (file) => readFileSync(file, 'utf8'));
  await mkdir(path.dirname(dest), { recursive: true });
  await writeFile(dest, `${JSON.stringify(policy, null, 2)}\n`);
  return dest;
}

/**
 * Writes the Lambda functions' IAM roles, derived from the checked policy and what each function's code calls
 * (src/deploy/roles.ts), as CloudFormation resources that serverless.yml includes: one role per function. ARNs use
 * CloudFormation's pseudo parameters (`Fn::Sub`) and osls variables (`${sls:stage}`...), which osls resolves when it
 * includes the file, so packaging needs no AWS credentials.
 */
export async function compileRoles({
  policyFile = path.join(root, 'dist', 'policy.json'),
  dest = path.join(root, 'dist', 'roles.json'),
} = {}) {
  const { FUNCTIONS, functionPolicy, cloudFormationRoles } = await tsImport('../src/deploy/roles.ts', import.meta.url);
  const { policySchema } = await tsImport('../src/config.ts', import.meta.url);
  const policy = policySchema.parse(JSON.parse(readFileSync(policyFile, 'utf8')));
  const resources = cloudFormationRoles(policy, FUNCTIONS, functionPolicy);
  await writeFile(dest, `${JSON.stringify(resources, null, 2)}\n`);
  return dest;
}

const kb = (bytes) => `${(bytes / 1024).toFixed(0)} KB`;

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const started = performance.now();
  try {
    console.log(`${path.relative(root, await compilePolicy())}: the access policy, checked`);
    console.log(`${path.relative(root, await compileRoles())}: the functions' IAM roles, derived from it`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
  const results = await buildLambdas();
  for (const { name, bytes, metafile } of results) {
    const top = packageSizes(metafile)
      .slice(0, 5)
      .map(([pkg, size]) => `${pkg} ${kb(size)}`)
      .join(', ');
    console.log(`dist/${name}/index.cjs ${kb(bytes).padStart(8)}  (largest: ${top})`);
  }
  console.log(`built ${results.length} bundles in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
