/**
 * Every policy named like one of libCacheSim's gives libCacheSim's own numbers, exactly: for
 * every row of ../shared/traces/cache/libcachesim/exact-misses.csv (libCacheSim `cachesim` at
 * commit aa0fc40 on the shared oracleGeneral traces, 1/5/10/20% of unique bytes), the same
 * request count, requested bytes, miss count and miss bytes; for every line of
 * libcachesim/extra/*.extra.txt whose policy we claim (GDSF, Clock, TwoQ, LIRS, S4LRU, LHD), the miss ratio
 * and byte miss ratio it printed, to its fourth decimal. A rule that drifts from the reference
 * fails here the day it happens.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { POLICIES, POLICY_NAMES, type PolicyName } from '../../../src/cache-policies/policy-registry.js';
import { simulate } from '../../../src/simulator/simulator.js';
import type { Trace } from '../../../src/simulator/trace.js';
import { readOracleGeneralTrace } from '../../../src/simulator/trace-readers.js';

const TRACES = path.resolve(import.meta.dirname, '../../../../shared/traces/cache');
const rows = parse(fs.readFileSync(path.join(TRACES, 'libcachesim', 'exact-misses.csv')), { columns: true, cast: false }) as {
  trace: string;
  cache_name: string;
  frac: string;
  cache_size: string;
  n_req: string;
  n_miss: string;
  req_byte: string;
  miss_byte: string;
}[];
const byLibCacheSimName = new Map(POLICY_NAMES.flatMap((n) => ((POLICIES[n] as { libCacheSim?: string }).libCacheSim ? [[(POLICIES[n] as { libCacheSim?: string }).libCacheSim!, n] as const] : [])));
const traces = new Map<string, Promise<Trace>>();
const traceOf = (name: string) => traces.get(name) ?? traces.set(name, readOracleGeneralTrace(path.join(TRACES, `${name}.oracleGeneral.bin`))).get(name)!;

/** libcachesim/extra/<trace>.extra.txt: `<trace>.oracleGeneral.bin <name> cache size <s>, <n> req, miss ratio <m>, byte miss ratio <b>`. */
const printed = fs
  .readdirSync(path.join(TRACES, 'libcachesim', 'extra'))
  .flatMap((file) => fs.readFileSync(path.join(TRACES, 'libcachesim', 'extra', file), 'utf8').trim().split('\n'))
  .map((line) => {
    const m = /^(\S+)\.oracleGeneral\.bin\s+(\S+) cache size\s+\S+, (\d+) req, miss ratio ([\d.]+), byte miss ratio ([\d.]+)$/.exec(line.trim());
    if (!m) throw new Error(`unexpected line in extra/: ${line}`);
    return { trace: m[1]!, cacheName: m[2]!, requests: Number(m[3]), missRatio: m[4]!, byteMissRatio: m[5]! };
  });
/** The sizes of each trace's runs, in order (the extra files print them rounded: take exact-misses.csv's). */
const sizesOf = (trace: string) => rows.filter((r) => r.trace === trace && r.cache_name === 'LRU').map((r) => Number(r.cache_size));

describe('agreement with libCacheSim aa0fc40', () => {
  it('covers every policy that claims a libCacheSim name, on every shared trace', () => {
    expect(rows.length).toBeGreaterThanOrEqual(96);
    const referenced = new Set([...rows.map((r) => r.cache_name), ...printed.map((p) => p.cacheName)]);
    for (const name of byLibCacheSimName.keys()) expect(referenced.has(name), name).toBe(true);
  });

  const runs = new Map<string, number>();
  for (const p of printed) {
    const policy = byLibCacheSimName.get(p.cacheName) as PolicyName | undefined;
    if (!policy) continue; // a libCacheSim cache we do not claim
    const k = `${p.trace} ${p.cacheName}`;
    const i = runs.get(k) ?? 0;
    runs.set(k, i + 1);
    it(`${p.trace} ${p.cacheName} run ${i + 1}: miss ratio ${p.missRatio}, byte miss ratio ${p.byteMissRatio}`, async () => {
      const r = simulate(await traceOf(p.trace), policy, sizesOf(p.trace)[i]!);
      expect(r.requests).toBe(p.requests);
      expect({ missRatio: ((r.requests - r.hits) / r.requests).toFixed(4), byteMissRatio: ((r.requestedBytes - r.hitBytes) / r.requestedBytes).toFixed(4) }).toEqual({ missRatio: p.missRatio, byteMissRatio: p.byteMissRatio });
    });
  }

  for (const row of rows) {
    const policy = byLibCacheSimName.get(row.cache_name) as PolicyName | undefined;
    it(`${row.trace} ${row.cache_name} at ${row.frac} (${row.cache_size}): ${row.n_miss} misses, ${row.miss_byte} miss bytes`, async () => {
      expect(policy, `no policy claims libCacheSim's ${row.cache_name}`).toBeDefined();
      const r = simulate(await traceOf(row.trace), policy!, Number(row.cache_size));
      expect(r.requests).toBe(Number(row.n_req));
      expect(r.requestedBytes).toBe(Number(row.req_byte));
      expect({ misses: r.requests - r.hits, missBytes: r.requestedBytes - r.hitBytes }).toEqual({ misses: Number(row.n_miss), missBytes: Number(row.miss_byte) });
    });
  }
});

/**
 * LHD re-models its hit densities every 2^20 requests and changes its age unit at the 6th time
 * (libCacheSim `LHD::adaptAgeCoarsening`), which none of the shared traces reaches. On a seeded
 * VOD workload of 6.8 M requests, libCacheSim's `cachesim` (aa0fc40; the trace written with
 * writeOracleGeneralTrace, `cachesim T oracleGeneral lhd 3980347751,796069550353`, 2026-12-04)
 * printed these; at 0.1% the age unit shrinks (1024 → 32 requests), at 20% it grows (→ 4096).
 * Longer runs (56 × 2^20 requests, past the 51st reconfiguration) are in `npm run bench:libcachesim`.
 */
describe('LHD past its reconfigurations, against libCacheSim', () => {
  it('a 5-day VOD workload at 0.1% and 20% of its bytes: the miss ratios cachesim printed', async () => {
    const { generateVodWorkload } = await import('../../../src/simulator/vod-workload.js');
    const trace = generateVodWorkload({ seed: 2, days: 5 });
    expect(trace.requests).toBe(6_845_649);
    expect(trace.requests).toBeGreaterThan(6 * 2 ** 20);
    const printed = [
      { fraction: 0.001, missRatio: '0.9875', byteMissRatio: '0.9937' },
      { fraction: 0.2, missRatio: '0.5536', byteMissRatio: '0.6352' },
    ];
    for (const p of printed) {
      const r = simulate(trace, 'lhd', Math.floor(trace.uniqueBytes * p.fraction));
      expect({ fraction: p.fraction, missRatio: ((r.requests - r.hits) / r.requests).toFixed(4), byteMissRatio: ((r.requestedBytes - r.hitBytes) / r.requestedBytes).toFixed(4) }).toEqual(p);
    }
  }, 180_000);
});
