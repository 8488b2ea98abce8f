/**
 * Simulator throughput per policy on one core: requests per second replaying a ~1-million-
 * request synthetic VOD trace at 10% of its unique bytes (best of 3 runs, after a warm-up
 * run). Trace generation and id renumbering are outside the timed loop.
 * Writes bench/results/simulator-throughput.json. Run: npm run bench:sim
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { simulate } from '../src/simulator/simulator.js';
import { nextAccessIndices } from '../src/simulator/trace.js';
import { generateVodWorkload } from '../src/simulator/vod-workload.js';
import { POLICY_NAMES } from '../src/cache-policies/policy-registry.js';

const trace = generateVodWorkload({ seed: 1, titles: 5000, sessionsPerDay: 3_000, days: 1 });
const capacity = Math.floor(trace.uniqueBytes * 0.1);
const nextAccess = nextAccessIndices(trace);
process.stderr.write(`trace: ${trace.requests} requests, ${trace.uniqueObjects} objects; cache ${capacity} bytes (10%)\n`);
const rows = [];
for (const policy of POLICY_NAMES) {
  simulate(trace, policy, capacity, { nextAccess }); // warm-up (JIT)
  let best = 0;
  let last;
  for (let i = 0; i < 3; i++) {
    last = simulate(trace, policy, capacity, { nextAccess });
    best = Math.max(best, last.requestsPerSecond);
  }
  rows.push({ policy, requestsPerSecond: Math.round(best), hitRatio: last!.hitRatio, byteHitRatio: last!.byteHitRatio });
  process.stderr.write(`${policy.padEnd(10)} ${(best / 1e6).toFixed(2)} M req/s\n`);
}
const out = path.resolve(import.meta.dirname, 'results', 'simulator-throughput.json');
await fs.mkdir(path.dirname(out), { recursive: true });
await fs.writeFile(
  out,
  `${JSON.stringify({ generatedAt: new Date().toISOString(), node: process.version, cpu: os.cpus()[0]?.model, trace: { name: trace.name, requests: trace.requests, uniqueObjects: trace.uniqueObjects, uniqueBytes: trace.uniqueBytes }, capacityBytes: capacity, rows }, null, 2)}\n`,
);
process.stdout.write(`| policy | M requests/s | hit ratio | byte hit ratio |\n| --- | ---: | ---: | ---: |\n${rows.map((r) => `| ${r.policy} | ${(r.requestsPerSecond / 1e6).toFixed(2)} | ${(r.hitRatio * 100).toFixed(2)}% | ${(r.byteHitRatio * 100).toFixed(2)}% |`).join('\n')}\n`);
process.stdout.write(`\nWrote ${out}\n`);
