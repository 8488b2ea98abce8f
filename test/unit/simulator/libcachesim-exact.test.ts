/**
 * Every policy named like one of libCacheSim's gives libCacheSim's own numbers, exactly: for
 * every row of ../shared/traces/cache/libcachesim/exact-misses.csv (libCacheSim `cachesim` at
 * commit aa0fc40 on the shared oracleGeneral traces, 1/5/10/20% of unique bytes), the same
 * request count, requested bytes, miss count and miss bytes. A rule that drifts from the
 * reference fails here the day it happens.
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

describe('agreement with libCacheSim aa0fc40', () => {
  it('covers every policy that claims a libCacheSim name, on every shared trace', () => {
    expect(rows.length).toBeGreaterThanOrEqual(96);
    expect(new Set(rows.map((r) => byLibCacheSimName.get(r.cache_name)))).toEqual(new Set(byLibCacheSimName.values()));
  });

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
