import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePortPair } from '../support/dev-bot.js';

let taken: Server;
let port: number;
beforeAll(async () => {
  port = await freePortPair();
  taken = createServer();
  await new Promise<void>((r) => taken.listen(port, '0.0.0.0', () => r()));
});
afterAll(async () => {
  await new Promise<void>((r) => taken.close(() => r()));
});

/** Processes whose environment holds the marker (what a dev run started, whoever is their parent now). */
function processesMarked(marker: string): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'utf8').includes(marker)) pids.push(Number(pid));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

describe('a second `npm run dev`', () => {
  it('says the port is taken, exits with 1 without a stack trace, and leaves nothing running (no moto)', async () => {
    const marker = `IAM_BOT_DEV_TEST_MARKER=${randomUUID()}`;
    const env: Record<string, string | undefined> = { ...process.env, PORT: String(port) };
    for (const k of ['AWS_ENDPOINT_URL', 'SLACK_SIGNING_SECRET', 'SLACK_BOT_TOKEN']) delete env[k];
    env[marker.split('=')[0] as string] = marker.split('=')[1];
    const child = spawn('npx', ['tsx', 'src/local/dev.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    await new Promise((r) => setTimeout(r, 300));

    expect(code).toBe(1);
    expect(out).toContain(`Port ${port} (the bot) is already in use: is another \`npm run dev\` running?`);
    expect(out).not.toMatch(/\n\s+at /);
    expect(processesMarked(marker)).toEqual([]);
  });
});
