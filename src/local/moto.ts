import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface MotoServer {
  url: string;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export const MOTO_INSTALL_HINT = "moto was not found. Install it with: pip install 'moto[server]'";

/** The launcher that runs moto with request handling serialized (see the file for why). */
const LAUNCHER = fileURLToPath(new URL('./moto-serial.py', import.meta.url));

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts moto's AWS emulator on a free port and waits until it answers. Nothing it does reaches AWS.
 * Throws with the install line when moto is missing.
 */
export async function startMoto(options: { port?: number; python?: string } = {}): Promise<MotoServer> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(options.python ?? 'python3', [LAUNCHER, '127.0.0.1', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, MOTO_ALLOW_NONEXISTENT_REGION: 'false' },
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  const exited = new Promise<Error>((resolve) => {
    child.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ENOENT' ? new Error(MOTO_INSTALL_HINT) : e));
    child.on('exit', (code) =>
      resolve(new Error(code === 3 ? MOTO_INSTALL_HINT : `moto exited with code ${code}: ${stderr.trim()}`)),
    );
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const failed = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(r, 100, undefined))]);
    if (failed) throw failed;
    try {
      const res = await fetch(`${url}/moto-api/`);
      if (res.status < 500) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto did not answer on ${url} within 20 s: ${stderr.trim()}`);
    }
  }
  return {
    url,
    reset: async () => {
      await fetch(`${url}/moto-api/reset`, { method: 'POST' });
    },
    stop: async () => {
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 2000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
