/** Latency of a signed `/iam help` through the bundled Slack handler, warm (after the first requests). */
import path from 'node:path';
import { ms, percentile, probe, type Row, root, type Section } from '../lib.js';

const WARMUP = 20;
const REQUESTS = 500; // at least 200

export const slackLatency: Section = {
  title: 'Slack handler latency, warm',
  async run(): Promise<Row[]> {
    const bundle = path.join(root, 'dist', 'slack', 'index.cjs');
    const { ms: samples } = await probe<{ ms: number[] }>('help-latency.cjs', [
      bundle,
      String(WARMUP),
      String(REQUESTS),
    ]);
    const p99 = percentile(samples, 99);
    return [
      { metric: `signed /iam help, p50 of ${samples.length}`, value: ms(percentile(samples, 50)) },
      { metric: `signed /iam help, p99 of ${samples.length}`, value: ms(p99), target: '≤ 20 ms', met: p99 <= 20 },
    ];
  },
};
