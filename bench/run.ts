/**
 * The benchmark: `npm run bench` (builds the Lambda bundles first, then runs this). Prints one markdown table per
 * section: metric | value | target | met?. Prints only; nothing is written to the repository.
 *
 * To add measurements, write a Section (bench/lib.ts) in bench/sections/ and append it to `sections`. Words after
 * `--` run only the sections whose title contains one of them, e.g. `npm run bench -- scan` (the key-age scan).
 */
import os from 'node:os';
import { markdownTable, type Section } from './lib.js';
import { accessReviewSection } from './sections/access-review.js';
import { approvalSection } from './sections/approval.js';
import { callsBeforeAnswerSection } from './sections/calls-before-answer.js';
import { grantsSection } from './sections/grants.js';
import { keyScanSection } from './sections/key-scan.js';
import { orgSection } from './sections/org.js';
import { ownerCheckSection } from './sections/owner-check.js';
import { revealLatency } from './sections/reveal.js';
import { slackBundle } from './sections/slack-bundle.js';
import { slackCold } from './sections/slack-cold.js';
import { slackLatency } from './sections/slack-latency.js';
import { usersSection } from './sections/users.js';

const sections: Section[] = [
  slackBundle,
  slackCold,
  slackLatency,
  revealLatency,
  approvalSection,
  callsBeforeAnswerSection,
  usersSection,
  keyScanSection,
  ownerCheckSection,
  grantsSection,
  orgSection,
  accessReviewSection,
];

/** The machine's load average (1, 5, 15 minutes): benchmarks on a shared machine are read against it. */
const loadAverage = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const only = process.argv.slice(2);
let missed = 0;
console.log(
  `# iam-slack-bot benchmark\n\nNode ${process.version}, ${os.cpus().length} CPU(s) (${os.cpus()[0]?.model ?? 'unknown'}), ${new Date().toISOString()}, load average at start ${loadAverage()}`,
);
for (const section of sections) {
  if (section.optIn && only.length === 0) continue;
  if (only.length > 0 && !only.some((word) => section.title.toLowerCase().includes(word.toLowerCase()))) continue;
  const rows = await section.run();
  missed += rows.filter((row) => row.met === false).length;
  console.log(`\n## ${section.title}\n\n${markdownTable(rows)}\n\nLoad average after it: ${loadAverage()}`);
}
console.log(missed === 0 ? '\nEvery target met.' : `\n${missed} target(s) missed.`);
