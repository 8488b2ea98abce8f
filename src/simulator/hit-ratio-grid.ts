/**
 * The hit-ratio grid: every policy at every cache size over one trace, run by the simulator.
 * Statistics only; hit-ratio-report.ts formats and writes them, hit-ratio-chart.ts plots them.
 */
import { POLICIES, type PolicyName } from '../cache-policies/policy-registry.js';
import { simulate, type SimulationResult } from './simulator.js';
import { nextAccessIndices, type Trace } from './trace.js';

export interface HitRatioRow extends SimulationResult {
  /** Cache size as a fraction of the trace's unique bytes. */
  readonly capacityFraction: number;
}

/** A cache size: a fraction of the trace's unique bytes (`5%`, `0.05`) or bytes (`64MB`, parsed by the caller). */
export type CacheSize = { readonly fraction: number } | { readonly bytes: number };

/**
 * Parses `--sizes`: comma-separated percentages (`1%`), fractions below 1 (`0.05`) or byte
 * sizes handled by `parseBytes` (`64MB`).
 * @throws RangeError naming the first bad item.
 */
export function parseCacheSizes(text: string, parseBytes: (s: string) => number | null): CacheSize[] {
  return text.split(',').map((raw) => {
    const s = raw.trim();
    const pct = /^(\d+(?:\.\d+)?)%$/.exec(s);
    if (pct) {
      const f = Number(pct[1]) / 100;
      if (f > 0 && f <= 1) return { fraction: f };
    } else if (/^0?\.\d+$/.test(s)) {
      return { fraction: Number(s) };
    } else {
      const b = parseBytes(s);
      if (b !== null && b > 0) return { bytes: b };
    }
    throw new RangeError(`cache size '${s}' is not a percentage (5%), a fraction (0.05) or a byte size (64MB)`);
  });
}

/** Resolves a size to bytes (at least 1) for a trace. */
export function capacityFor(size: CacheSize, trace: Trace): number {
  return 'bytes' in size ? size.bytes : Math.max(1, Math.floor(size.fraction * trace.uniqueBytes));
}

/**
 * Runs every policy at every size.
 * @param onStep called after each simulation with steps done and total.
 */
export function runHitRatioGrid(trace: Trace, policies: readonly PolicyName[], sizes: readonly CacheSize[], onStep?: (done: number, total: number, row: HitRatioRow) => void): HitRatioRow[] {
  const needsOracle = policies.some((p) => POLICIES[p].offline);
  const nextAccess = needsOracle ? nextAccessIndices(trace) : undefined;
  const rows: HitRatioRow[] = [];
  const total = policies.length * sizes.length;
  for (const size of sizes) {
    const capacityBytes = capacityFor(size, trace);
    for (const policy of policies) {
      const r = simulate(trace, policy, capacityBytes, nextAccess ? { nextAccess } : {});
      const row = { ...r, capacityFraction: capacityBytes / trace.uniqueBytes };
      rows.push(row);
      onStep?.(rows.length, total, row);
    }
  }
  return rows;
}
