// Benchmark probe, run in a fresh `node` process by bench/sections/cold-start.ts: how long `require()` of a Lambda
// bundle takes, i.e. its module initialisation (what a cold start adds before the first request).
// Usage: node init.cjs <bundle.cjs>   ->   prints `BENCH_RESULT {"ms": ...}` as its last line.
'use strict';

const started = process.hrtime.bigint();
require(process.argv[2]);
const ms = Number(process.hrtime.bigint() - started) / 1e6;
process.stdout.write(`\nBENCH_RESULT ${JSON.stringify({ ms })}\n`);
process.exit(0);
