/**
 * The shipped bundles (dist/<function>/index.cjs, exactly what `npm run package` zips): each one's size and module
 * initialisation time (what a cold start adds before the first event), and the Slack handler's beside a naive
 * bundle of the same libraries (bench/naive-entry.ts, esbuild defaults), each the median of fresh `node` processes.
 */
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { kb, median, ms, probe, type Row, root, type Section } from '../lib.js';

const SLACK_BUNDLE = path.join(root, 'dist', 'slack', 'index.cjs');
const NAIVE_BUNDLE = path.join(root, '.bench', 'naive', 'index.cjs');
const RUNS = 11; // fresh processes per bundle (at least 7)
const OTHER_RUNS = 7; // for the web, worker and schedule bundles

async function buildNaive(): Promise<void> {
  await mkdir(path.dirname(NAIVE_BUNDLE), { recursive: true });
  await esbuild.build({
    entryPoints: [path.join(root, 'bench', 'naive-entry.ts')],
    outfile: NAIVE_BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    logLevel: 'error',
  });
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    throw new Error(`${path.relative(root, file)} is missing: run \`npm run bench\` (it builds first)`);
  }
}

const initMs = async (bundle: string) => (await probe<{ ms: number }>('init.cjs', [bundle])).ms;

export const slackBundle: Section = {
  title: 'Shipped bundles: size and cold start',
  async run(): Promise<Row[]> {
    const size = await sizeOf(SLACK_BUNDLE);
    const others = await Promise.all(
      ['web', 'worker', 'schedule'].map(async (name) => ({
        name,
        size: await sizeOf(path.join(root, 'dist', name, 'index.cjs')),
      })),
    );
    await buildNaive();
    const naiveSize = await sizeOf(NAIVE_BUNDLE);

    // Alternate the two bundles so that any drift of the machine affects both alike.
    const slack: number[] = [];
    const naive: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      slack.push(await initMs(SLACK_BUNDLE));
      naive.push(await initMs(NAIVE_BUNDLE));
    }
    const ratio = median(slack) / median(naive);
    const otherInits: { name: string; ms: number }[] = [];
    for (const { name } of others) {
      const runs: number[] = [];
      for (let i = 0; i < OTHER_RUNS; i++) runs.push(await initMs(path.join(root, 'dist', name, 'index.cjs')));
      otherInits.push({ name, ms: median(runs) });
    }

    return [
      {
        metric: 'Slack bundle size (dist/slack/index.cjs)',
        value: kb(size),
        // issue 18: no bigger than before the kinds became modules (905 KB)
        target: '≤ 905 KB',
        met: size <= 905 * 1024,
      },
      ...others.map(({ name, size }) => ({ metric: `${name} bundle size`, value: kb(size) })),
      { metric: 'naive bundle size (bench/naive-entry.ts, esbuild defaults)', value: kb(naiveSize) },
      { metric: `Slack bundle module init, median of ${RUNS} processes`, value: ms(median(slack)) },
      { metric: `naive bundle module init, median of ${RUNS} processes`, value: ms(median(naive)) },
      { metric: 'init ratio Slack / naive', value: ratio.toFixed(2), target: '≤ 0.5', met: ratio <= 0.5 },
      ...otherInits.map(({ name, ms: m }) => ({
        metric: `${name} bundle module init, median of ${OTHER_RUNS} processes`,
        value: ms(m),
      })),
    ];
  },
};
