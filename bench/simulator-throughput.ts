/**
 * Simulator throughput per policy on one core, two figures (issue 14: only the second compares
 * with libCacheSim's, whose figures include reading and hashing each request):
 *   - replay loop: requests per second of the simulation loop alone, the trace in memory;
 *   - whole run: reading and parsing the oracleGeneral file, renumbering ids, next-access times
 *     for the offline policies, and the replay — what `cachesim TRACE oracleGeneral POLICY` does.
 * Each the best of 3 after a warm-up run. The trace is the ~1-million-request synthetic VOD
 * workload written as an oracleGeneral file, at 10% of its unique bytes.
 * Writes bench/results/simulator-throughput.json. Run: npm run bench:sim
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { POLICIES, POLICY_NAMES } from '../src/cache-policies/policy-registry.js';
import { simulate } from '../src/simulator/simulator.js';
import { nextAccessIndices } from '../src/simulator/trace.js';
import { readOracleGeneralTrace, writeOracleGeneralTrace } from '../src/simulator/trace-readers.js';
import { generateVodWorkload } from '../src/simulator/vod-workload.js';

const RUNS = 3;
const generated = generateVodWorkload({ seed: 1, titles: 5000, sessionsPerDay: 3_000, days: 1 });
const work = await fs.mkdtemp(path.join(os.tmpdir(), 'vod-bench-sim-'));
const file = path.join(work, 'vod-workload.oracleGeneral.bin');
await writeOracleGeneralTrace(generated, file);
const trace = await readOracleGeneralTrace(file);
const capacity = Math.floor(trace.uniqueBytes * 0.1);
const nextAccess = nextAccessIndices(trace);
process.stderr.write(`trace: ${trace.requests} requests, ${trace.uniqueObjects} objects (${file}); cache ${capacity} bytes (10%)\n`);

/** Reads, parses and replays the file: the whole run, requests per second. */
async function wholeRun(policy: (typeof POLICY_NAMES)[number]): Promise<number> {
  const started = performance.now();
  const t = await readOracleGeneralTrace(file);
  const r = simulate(t, policy, capacity, POLICIES[policy].offline ? { nextAccess: nextAccessIndices(t) } : {});
  return (r.requests / (performance.now() - started)) * 1000;
}

const rows = [];
try {
  for (const policy of POLICY_NAMES) {
    simulate(trace, policy, capacity, { nextAccess }); // warm-up (JIT)
    let loop = 0;
    let last;
    for (let i = 0; i < RUNS; i++) {
      last = simulate(trace, policy, capacity, { nextAccess });
      loop = Math.max(loop, last.requestsPerSecond);
    }
    await wholeRun(policy); // warm-up
    let whole = 0;
    for (let i = 0; i < RUNS; i++) whole = Math.max(whole, await wholeRun(policy));
    rows.push({ policy, replayLoopRequestsPerSecond: Math.round(loop), wholeRunRequestsPerSecond: Math.round(whole), hitRatio: last!.hitRatio, byteHitRatio: last!.byteHitRatio });
    process.stderr.write(`${policy.padEnd(20)} loop ${(loop / 1e6).toFixed(2)} M req/s, whole run ${(whole / 1e6).toFixed(2)} M req/s\n`);
  }
} finally {
  await fs.rm(work, { recursive: true, force: true });
}
const out = path.resolve(import.meta.dirname, 'results', 'simulator-throughput.json');
await fs.mkdir(path.dirname(out), { recursive: true });
await fs.writeFile(
  out,
  `${JSON.stringify({ generatedAt: new Date().toISOString(), node: process.version, cpu: os.cpus()[0]?.model, trace: { name: trace.name, requests: trace.requests, uniqueObjects: trace.uniqueObjects, uniqueBytes: trace.uniqueBytes }, capacityBytes: capacity, rows }, null, 2)}\n`,
);
process.stdout.write(
  `| policy | replay loop, M req/s | whole run (read + parse + replay), M req/s | hit ratio | byte hit ratio |\n| --- | ---: | ---: | ---: | ---: |\n${rows
    .map((r) => `| ${r.policy} | ${(r.replayLoopRequestsPerSecond / 1e6).toFixed(2)} | ${(r.wholeRunRequestsPerSecond / 1e6).toFixed(2)} | ${(r.hitRatio * 100).toFixed(2)}% | ${(r.byteHitRatio * 100).toFixed(2)}% |`)
    .join('\n')}\n`,
);
process.stdout.write(`\nWrote ${out}\n`);
