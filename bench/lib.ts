/** Shared pieces of the benchmark (bench/run.ts): result rows, statistics, probes run in fresh `node` processes. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

export const root = path.resolve(import.meta.dirname, '..');

/** One line of a result table. `met` is undefined when the metric has no target. */
export interface Row {
  metric: string;
  value: string;
  target?: string;
  met?: boolean;
}

/** A group of measurements, printed as one table. Add a section to `sections` in bench/run.ts. */
export interface Section {
  title: string;
  /** Runs only when named after `--` (too long for the default run). */
  optIn?: boolean;
  run(): Promise<Row[]>;
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) throw new Error('no values');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

export const ms = (value: number): string => `${value.toFixed(value < 10 ? 2 : 1)} ms`;
export const kb = (bytes: number): string => `${Math.round(bytes / 1024).toLocaleString('en-US')} KB`;

/** A markdown table: metric | value | target | met? */
export function markdownTable(rows: Row[]): string {
  const met = (row: Row) => (row.met === undefined ? '' : row.met ? 'yes' : '**no**');
  const lines = [
    '| metric | value | target | met? |',
    '| --- | ---: | ---: | :---: |',
    ...rows.map((row) => `| ${row.metric} | ${row.value} | ${row.target ?? ''} | ${met(row)} |`),
  ];
  return lines.join('\n');
}

/**
 * The environment a bundled handler runs with in the benchmark: valid configuration, the repository's policy.yml,
 * dummy AWS credentials and every AWS or Slack endpoint on a closed local port, so that any network call would fail
 * fast instead of reaching a real service (none is made: module initialisation and `/iam help` need no network).
 */
export function bundleEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'SYSTEMROOT'])
    if (process.env[name]) env[name] = process.env[name];
  return {
    ...env,
    NODE_NO_WARNINGS: '1', // the AWS SDK warns about Node 20 on every start (Lambda runs Node 22)
    SLACK_SIGNING_SECRET: 'bench-signing-secret-0123456789',
    SLACK_BOT_TOKEN: 'xoxb-0000-bench',
    SLACK_BOT_ID: 'B000BENCH',
    SLACK_BOT_USER_ID: 'U000BENCH',
    SLACK_API_URL: 'http://127.0.0.1:1/api/',
    POLICY_FILE: path.join(root, 'dist', 'policy.json'), // as on Lambda: written by scripts/build.mjs
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: 'http://127.0.0.1:1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_EC2_METADATA_DISABLED: 'true',
    LOG_LEVEL: 'INFO',
    // As on Lambda: jobs go to the worker function (never invoked here: the probes start none).
    WORKER_FUNCTION_NAME: 'iam-slack-bot-bench-worker',
  };
}

const run = promisify(execFile);

/** Runs a probe (bench/probes/*.cjs) in a fresh `node` process and returns what it reported; `env` adds variables. */
export async function probe<T>(name: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<T> {
  const script = path.join(root, 'bench', 'probes', name);
  const { stdout } = await run(process.execPath, [script, ...args], {
    cwd: root,
    env: { ...bundleEnv(), ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  const line = stdout.split('\n').findLast((l) => l.startsWith('BENCH_RESULT '));
  if (!line) throw new Error(`${name} reported nothing:\n${stdout.slice(-2000)}`);
  return JSON.parse(line.slice('BENCH_RESULT '.length)) as T;
}
