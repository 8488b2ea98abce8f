/**
 * Cross-check of the hit-ratio simulator against libCacheSim's `cachesim` on traces that are not
 * in the repository: four synthetic traces, seeded (Zipf 0.8 with log-normal sizes; Zipf 1.1
 * interleaved with scans of one-hit objects; equal sizes with a popularity shift every 50,000
 * requests; VOD segments: titles by Zipf 0.9, sequential segments, rung sizes with rung
 * switches), each at 0.1%, 1%, 5% and 20% of its unique bytes, every policy that claims a
 * libCacheSim name (policy-registry.ts `libCacheSim`). Our miss ratio and byte miss ratio are
 * compared with what `cachesim` prints (4 decimals; the miss ratio as libCacheSim computes it,
 * misses / requests). LHD also runs on a fifth, long trace (56 × 2^20 requests, longTrace), which
 * reaches the re-modelling its short runs never do; it adds about 7 minutes on a 2-core machine.
 *
 *   CACHESIM=/path/to/cachesim npm run bench:libcachesim
 *   CACHESIM=… LCS_POLICIES=lhd,lru npm run bench:libcachesim   # only these policies
 *   CACHESIM=… LCS_LONG=0 npm run bench:libcachesim             # without the long trace
 *
 * `cachesim` is built from libCacheSim (github.com/1a1a11a/libCacheSim, commit aa0fc40, the
 * reference of ../shared/traces/cache/libcachesim): Debian packages cmake, libglib2.0-dev and
 * libzstd-dev, then `cmake -DCMAKE_BUILD_TYPE=Release -DENABLE_TESTS=OFF .. && make cachesim`.
 * Writes bench/results/libcachesim-crosscheck.{md,json}. Without CACHESIM it says so and exits 2.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { POLICIES, POLICY_NAMES, type PolicyName } from '../src/cache-policies/policy-registry.js';
import { simulate } from '../src/simulator/simulator.js';
import { TraceBuilder, type Trace } from '../src/simulator/trace.js';
import { writeOracleGeneralTrace } from '../src/simulator/trace-readers.js';

const run = promisify(execFile);
const FRACTIONS = [0.001, 0.01, 0.05, 0.2];
/** cachesim's algorithm argument (and parameters) for each libCacheSim cache name we claim. */
const CACHESIM_ALGO: Record<string, readonly string[]> = {
  LRU: ['lru'],
  FIFO: ['fifo'],
  LFU: ['lfu'],
  ARC: ['arc'],
  'S3FIFO-0.1000-2': ['s3fifo'],
  Sieve: ['sieve'],
  'WTinyLFU-w0.01-SLRU': ['wtinylfu'],
  Belady: ['belady'],
  GDSF: ['gdsf'],
  Clock: ['fifo-reinsertion'],
  TwoQ: ['twoq'],
  LIRS: ['lirs'],
  'S4LRU(25:25:25:25)': ['slru', '-e', 'n-seg=4'],
  LHD: ['lhd'],
};
/**
 * Policies that also run on the long trace (longTrace): LHD re-models its hit densities every
 * 2^20 requests, changes its age unit at the 6th and 26th time and its sampling after the 51st,
 * which the four short traces never reach.
 */
const LONG_TRACE_POLICIES: readonly PolicyName[] = ['lhd'];

type Random = () => number;
function randomOf(seed: number): Random {
  const rng = xoroshiro128plus(seed);
  return () => uniformFloat64(rng);
}
/** Ranks 0..n-1 with P(k) ∝ 1/(k+1)^alpha (inverse CDF by binary search). */
function zipf(n: number, alpha: number, random: Random): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) cdf[k] = sum += 1 / (k + 1) ** alpha;
  return () => {
    const u = random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}
const logNormal = (median: number, sigma: number, random: Random) => Math.max(1, Math.round(median * Math.exp(sigma * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()))));
const int = (lo: number, hi: number, random: Random) => lo + Math.floor(random() * (hi - lo + 1));

/** The four traces; request i is at time ⌊i/10⌋ + 1. */
function traces(): Trace[] {
  const build = (name: string, requests: [number, number][]) => {
    const b = new TraceBuilder(requests.length);
    requests.forEach(([id, size], i) => b.add(id, size, Math.floor(i / 10) + 1));
    return b.build(name);
  };
  const out: Trace[] = [];
  {
    const r = randomOf(7);
    const z = zipf(20_000, 0.8, r);
    const sizes = Array.from({ length: 20_000 }, () => logNormal(20_000, 1.2, r));
    out.push(build('zipf0.8-lognormal', Array.from({ length: 300_000 }, () => { const k = z(); return [k + 1, sizes[k]!]; })));
  }
  {
    const r = randomOf(11);
    const z = zipf(5_000, 1.1, r);
    const sizes = Array.from({ length: 5_000 }, () => int(1_000, 100_000, r));
    const reqs: [number, number][] = [];
    let next = 1_000_000;
    while (reqs.length < 250_000) {
      if (r() < 0.02) for (let n = int(20, 400, r); n > 0; n--) reqs.push([next++, int(1_000, 100_000, r)]);
      else { const k = z(); reqs.push([k + 1, sizes[k]!]); }
    }
    out.push(build('zipf1.1-scans', reqs.slice(0, 250_000)));
  }
  {
    const r = randomOf(5);
    const z = zipf(50_000, 0.6, r);
    out.push(build('equal-size-drift', Array.from({ length: 300_000 }, (_v, i) => [((z() + Math.floor(i / 50_000) * 7_919) % 80_000) + 1, 4_096] as [number, number])));
  }
  {
    const r = randomOf(3);
    const titles = zipf(800, 0.9, r);
    const kbps = [145, 365, 730, 1_100, 2_000, 3_000, 4_500];
    const reqs: [number, number][] = [];
    while (reqs.length < 300_000) {
      const t = titles();
      let rung = int(0, kbps.length - 1, r);
      for (let s = 0, n = int(5, 300, r); s < n; s++) {
        if (r() < 0.03) rung = Math.max(0, Math.min(kbps.length - 1, rung + (r() < 0.5 ? -1 : 1)));
        const id = t * 100_000 + s * 10 + rung + 1;
        reqs.push([id, Math.round(((kbps[rung]! * 1_000) / 8) * 4 * (0.8 + 0.4 * ((id * 2_654_435_761) % 1_000) / 1_000))]);
      }
    }
    out.push(build('vod-segments', reqs.slice(0, 300_000)));
  }
  return out;
}

/**
 * The long trace: 56 × 2^20 requests (past LHD's 51st reconfiguration), Zipf 0.9 over a million
 * objects with log-normal sizes (median 8 kB), so that its caches from 0.1% to 20% hold from a few
 * thousand to a few hundred thousand objects (LHD's age unit then shrinks or grows).
 */
function longTrace(): Trace {
  const r = randomOf(13);
  const objects = 1_000_000;
  const z = zipf(objects, 0.9, r);
  const sizes = Float64Array.from({ length: objects }, () => logNormal(8_000, 1.0, r));
  const n = 56 * 2 ** 20;
  const b = new TraceBuilder(n);
  for (let i = 0; i < n; i++) {
    const k = z();
    b.add(k + 1, sizes[k]!, Math.floor(i / 1000) + 1);
  }
  return b.build('zipf0.9-lognormal-56M');
}

interface Row { trace: string; policy: PolicyName; libCacheSim: string; fraction: number; cacheBytes: number; ours: [string, string]; theirs?: [string, string]; agree?: boolean }

async function main(): Promise<void> {
  const cachesim = process.env.CACHESIM;
  if (!cachesim) {
    console.error('set CACHESIM to the path of libCacheSim\'s cachesim (see the header of bench/libcachesim-crosscheck.ts for how to build it)');
    process.exit(2);
  }
  const only = process.env.LCS_POLICIES?.split(',').filter(Boolean);
  const claimed = POLICY_NAMES.filter((n) => (POLICIES[n] as { libCacheSim?: string }).libCacheSim && (!only || only.includes(n))).map((n) => ({ policy: n, name: (POLICIES[n] as { libCacheSim?: string }).libCacheSim! }));
  const long = process.env.LCS_LONG !== '0' && claimed.some((c) => LONG_TRACE_POLICIES.includes(c.policy));
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'vod-lcs-'));
  const rows: Row[] = [];
  try {
    for (const makeTrace of [...traces().map((t) => () => t), ...(long ? [longTrace] : [])]) {
      const trace = makeTrace();
      const file = path.join(dir, `${trace.name}.oracleGeneral.bin`);
      await writeOracleGeneralTrace(trace, file);
      const sizes = FRACTIONS.map((f) => Math.floor(trace.uniqueBytes * f));
      const isLong = trace.name.endsWith('56M');
      for (const { policy, name } of claimed.filter((c) => !isLong || LONG_TRACE_POLICIES.includes(c.policy))) {
        const args = CACHESIM_ALGO[name];
        if (!args) throw new Error(`no cachesim algorithm for ${name}`);
        const { stdout } = await run(cachesim, [file, 'oracleGeneral', args[0]!, sizes.join(','), ...args.slice(1), '--num-thread', String(os.availableParallelism())], { maxBuffer: 16 * 1024 * 1024, cwd: dir });
        // One line per size, in the order given: "... miss ratio 0.1234, byte miss ratio 0.5678".
        const printed = [...stdout.matchAll(/miss ratio ([\d.]+), byte miss ratio ([\d.]+)/g)].map((m) => [m[1]!, m[2]!] as [string, string]);
        sizes.forEach((cacheBytes, i) => {
          const r = simulate(trace, policy, cacheBytes);
          const ours: [string, string] = [((r.requests - r.hits) / r.requests).toFixed(4), ((r.requestedBytes - r.hitBytes) / r.requestedBytes).toFixed(4)];
          const theirs = printed[i];
          rows.push({ trace: trace.name, policy, libCacheSim: name, fraction: FRACTIONS[i]!, cacheBytes, ours, ...(theirs ? { theirs, agree: theirs[0] === ours[0] && theirs[1] === ours[1] } : {}) });
        });
        process.stderr.write(`${trace.name} ${policy}: ${rows.filter((x) => x.trace === trace.name && x.policy === policy && x.agree).length}/${sizes.length} agree\n`);
      }
      await fs.rm(file);
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
  const agree = rows.filter((r) => r.agree).length;
  const lines = [
    `# Simulator vs libCacheSim cachesim on synthetic traces (${new Date().toISOString().slice(0, 10)})`,
    '',
    `\`CACHESIM=… npm run bench:libcachesim\`: ${agree} of ${rows.length} (trace, policy, size) runs print the same miss ratio and byte miss ratio (4 decimals).`,
    '',
    '| trace | policy | size | ours (miss / byte miss) | libCacheSim | |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.trace} | ${r.policy} | ${(r.fraction * 100).toString()}% | ${r.ours.join(' / ')} | ${r.theirs?.join(' / ') ?? '—'} | ${r.agree ? '' : '**differs**'} |`),
  ];
  await fs.mkdir('bench/results', { recursive: true });
  await fs.writeFile('bench/results/libcachesim-crosscheck.md', `${lines.join('\n')}\n`);
  await fs.writeFile('bench/results/libcachesim-crosscheck.json', `${JSON.stringify({ date: new Date().toISOString(), fractions: FRACTIONS, rows }, null, 2)}\n`);
  console.log(`${agree} of ${rows.length} runs agree; bench/results/libcachesim-crosscheck.md`);
  for (const r of rows.filter((x) => !x.agree)) console.log(`differs: ${r.trace} ${r.policy} ${r.fraction * 100}%: ours ${r.ours.join('/')} libCacheSim ${r.theirs?.join('/') ?? '—'}`);
}

await main();
