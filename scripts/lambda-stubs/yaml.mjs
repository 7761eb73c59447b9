// Stands in for `yaml` in the Lambda bundles (~96 KB, and its module initialisation at every cold start). The
// functions read the policy as JSON: `npm run build` checks policy.yml and writes dist/policy.json, which
// serverless.yml passes as POLICY_FILE (src/config.ts parses a `.json` file with JSON.parse). A POLICY_FILE that is
// YAML reaches this stub, which says what to do instead.
export function parse() {
  throw new Error(
    'YAML is not bundled into the Lambda build: set POLICY_FILE to the JSON policy `npm run build` writes (dist/policy.json)',
  );
}
